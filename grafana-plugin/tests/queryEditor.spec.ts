// See configEditor.spec.ts: these need a real Grafana and Coldtrace.
import { test, expect } from '@grafana/plugin-e2e';

test('smoke: renders the query editor with every query type', async ({ panelEditPage, readProvisionedDataSource }) => {
  const ds = await readProvisionedDataSource({ fileName: 'coldtrace.yaml' });
  await panelEditPage.datasource.set(ds.name);
  const row = panelEditPage.getQueryEditorRow('A');
  for (const label of ['Search', 'Trace', 'Metrics', 'Functions', 'Service map']) {
    await expect(row.getByLabel(label)).toBeVisible();
  }
});

test('the functions query returns a table', async ({ panelEditPage, readProvisionedDataSource }) => {
  const ds = await readProvisionedDataSource({ fileName: 'coldtrace.yaml' });
  await panelEditPage.datasource.set(ds.name);
  await panelEditPage.getQueryEditorRow('A').getByLabel('Functions').click();
  await panelEditPage.setVisualization('Table');
  await expect(panelEditPage.refreshPanel()).toBeOK();
});
