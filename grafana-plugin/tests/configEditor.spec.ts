// End-to-end tests in a real Grafana (npm run e2e): they need a Grafana
// with this plugin loaded at GRAFANA_URL (default http://localhost:3000)
// and a Coldtrace at COLDTRACE_URL. Neither can run on this project's CI
// machines (see docs/grafana.md), where the Go and Jest tests stand in.
import { test, expect } from '@grafana/plugin-e2e';

const coldtraceURL = process.env.COLDTRACE_URL ?? 'http://localhost:7070';

test('smoke: renders the config editor', async ({ createDataSourceConfigPage, readProvisionedDataSource, page }) => {
  const ds = await readProvisionedDataSource({ fileName: 'coldtrace.yaml' });
  await createDataSourceConfigPage({ type: ds.type });
  await expect(page.getByLabel('URL')).toBeVisible();
  await expect(page.getByLabel('Tenant')).toBeVisible();
});

test('"Save & test" reports Coldtrace’s version and span count', async ({
  createDataSourceConfigPage,
  readProvisionedDataSource,
  page,
}) => {
  const ds = await readProvisionedDataSource({ fileName: 'coldtrace.yaml' });
  const configPage = await createDataSourceConfigPage({ type: ds.type });
  await page.getByLabel('URL').fill(coldtraceURL);
  await expect(configPage.saveAndTest()).toBeOK();
  await expect(configPage).toHaveAlert('success', { hasText: /spans stored/ });
});

test('"Save & test" explains an unreachable Coldtrace', async ({
  createDataSourceConfigPage,
  readProvisionedDataSource,
  page,
}) => {
  const ds = await readProvisionedDataSource({ fileName: 'coldtrace.yaml' });
  const configPage = await createDataSourceConfigPage({ type: ds.type });
  await page.getByLabel('URL').fill('http://127.0.0.1:9');
  await expect(configPage.saveAndTest()).not.toBeOK();
  await expect(configPage).toHaveAlert('error', { hasText: 'cannot reach Coldtrace' });
});
