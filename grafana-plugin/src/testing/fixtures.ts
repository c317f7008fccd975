// Test fixtures written by the Go backend's golden tests
// (pkg/plugin/golden_test.go) from a real Coldtrace holding the seeded data
// set, so these tests check the frontend against what the backend really
// sends.
import fs from 'fs';
import path from 'path';
import { DataFrameJSON, DataSourceInstanceSettings, PluginType } from '@grafana/data';
import { TemplateSrv } from '@grafana/runtime';

import { DataSource } from '../datasource';
import { ColdtraceOptions, Option } from '../types';

const testdata = path.resolve(__dirname, '../../pkg/plugin/testdata');

/** A golden QueryData response: the JSON Grafana's frontend receives for one query. */
export function goldenResponse(name: string): { status: number; frames: DataFrameJSON[] } {
  const text = fs.readFileSync(path.join(testdata, `${name}.jsonc`), 'utf8');
  // The file opens with a table dump in // comments.
  const json = text
    .split('\n')
    .filter((line) => !line.startsWith('//'))
    .join('\n');
  return JSON.parse(json);
}

/** What the backend's resource handlers answered, by path and parameter. */
export const resources: Record<string, Option[]> = JSON.parse(fs.readFileSync(path.join(testdata, 'resources.json'), 'utf8'));

export const instanceSettings: DataSourceInstanceSettings<ColdtraceOptions> = {
  // eslint-disable-next-line @typescript-eslint/no-deprecated -- still a required field of the type
  id: 1,
  uid: 'coldtrace-test',
  name: 'Coldtrace',
  type: 'coldtrace-traces-datasource',
  access: 'proxy',
  readOnly: false,
  jsonData: { url: 'http://localhost:7070' },
  meta: {
    id: 'coldtrace-traces-datasource',
    name: 'Coldtrace',
    type: PluginType.datasource,
    module: '',
    baseUrl: '',
    info: {
      author: { name: 'Coldtrace' },
      description: '',
      links: [],
      logos: { small: '', large: '' },
      screenshots: [],
      updated: '',
      version: '',
    },
  },
};

export type ResourceCall = { path: string; params: Record<string, string> };

/**
 * A DataSource whose getResource answers from the backend's golden resource
 * responses (Grafana's backend proxy is not here to call the plugin).
 * Unknown paths fail like Grafana's FetchError, with the backend's message.
 */
export function fixtureDataSource(): { ds: DataSource; calls: ResourceCall[] } {
  const ds = new DataSource(instanceSettings);
  const calls: ResourceCall[] = [];
  ds.getResource = (async (p: string, params?: Record<string, string>) => {
    const ps = params ?? {};
    calls.push({ path: p, params: ps });
    const key = ps.service ? `${p}?service=${ps.service}` : ps.key ? `${p}?key=${ps.key}` : p;
    const answer = resources[key];
    if (!answer) {
      throw { status: 502, data: { message: `no fixture for ${key}` } };
    }
    return answer;
  }) as DataSource['getResource'];
  return { ds, calls };
}

/**
 * Dashboard variables for applyTemplateVariables: replaces $name and
 * ${name} with a variable's values, joining several with commas for the
 * csv format and with {a,b} otherwise, as Grafana does.
 */
export function templateSrv(vars: Record<string, string | string[]>): TemplateSrv {
  return {
    getVariables: () => [],
    containsTemplate: (t?: string) => !!t && /\$/.test(t),
    updateTimeRange: () => {},
    replace: (target?: string, _scoped?: unknown, format?: string | Function) =>
      (target ?? '').replace(/\$\{(\w+)\}|\$(\w+)/g, (m, a, b) => {
        const v = vars[a ?? b];
        if (v === undefined) {
          return m;
        }
        if (!Array.isArray(v)) {
          return v;
        }
        return format === 'csv' ? v.join(',') : `{${v.join(',')}}`;
      }),
  };
}
