import { dateTime, DataQueryRequest, CoreApp } from '@grafana/data';
import { setTemplateSrv } from '@grafana/runtime';
import { lastValueFrom } from 'rxjs';

import { ColdtraceVariableSupport } from '../datasource';
import { ColdtraceQuery, VariableQuery } from '../types';
import { fixtureDataSource, templateSrv } from '../testing/fixtures';

const range = { from: dateTime(1767225600000), to: dateTime(1767226800000), raw: { from: 'now-20m', to: 'now' } };

beforeEach(() => {
  setTemplateSrv(templateSrv({ function: ['checkout', 'thumbnail'], service: 'checkout', route: '/checkout', trace: 'abc123' }));
});

describe('applyTemplateVariables', () => {
  it('fills single values, joins multi-value functions with commas', () => {
    const { ds } = fixtureDataSource();
    const q: ColdtraceQuery = {
      refId: 'A',
      queryType: 'metrics',
      metric: 'coldstarts',
      function: '$function',
      service: '${service}',
      traceId: '$trace',
      attributes: { 'http.route': '$route' },
    };
    const out = ds.applyTemplateVariables(q, {});
    expect(out.function).toBe('checkout,thumbnail');
    expect(out.service).toBe('checkout');
    expect(out.traceId).toBe('abc123');
    expect(out.attributes).toEqual({ 'http.route': '/checkout' });
    expect(out.adhocFilters).toBeUndefined();
    expect(q.function).toBe('$function'); // the saved query is left alone
  });

  it('passes ad-hoc filters through as attribute filters', () => {
    const { ds } = fixtureDataSource();
    const out = ds.applyTemplateVariables({ refId: 'A', queryType: 'search' }, {}, [
      { key: 'faas.instance', operator: '=', value: 'checkout-b' },
      { key: 'http.route', operator: '=', value: '$route' },
    ]);
    expect(out.adhocFilters).toEqual([
      { key: 'faas.instance', operator: '=', value: 'checkout-b' },
      { key: 'http.route', operator: '=', value: '/checkout' },
    ]);
  });
});

describe('filterQuery', () => {
  const { ds } = fixtureDataSource();
  it.each<[Partial<ColdtraceQuery>, boolean]>([
    [{ queryType: 'trace' }, false],
    [{ queryType: 'trace', traceId: '  ' }, false],
    [{ queryType: 'trace', traceId: 'abc' }, true],
    [{ queryType: 'metrics' }, false],
    [{ queryType: 'metrics', metric: 'cost' }, true],
    [{ queryType: 'search' }, true],
    [{ queryType: 'serviceMap', hide: true }, false],
  ])('%j → %s', (q, want) => {
    expect(ds.filterQuery({ refId: 'A', ...q })).toBe(want);
  });

  it('defaults new queries to a search', () => {
    expect(ds.getDefaultQuery(CoreApp.Explore)).toEqual({ queryType: 'search', limit: 20 });
  });
});

describe('ad-hoc filter keys and values', () => {
  it('lists attribute keys and values over the dashboard range', async () => {
    const { ds, calls } = fixtureDataSource();
    const keys = await ds.getTagKeys({ filters: [], timeRange: range });
    expect(keys.map((k) => k.text)).toEqual(expect.arrayContaining(['faas.trigger', 'faas.coldstart', 'http.route']));
    expect(calls[0]).toEqual({ path: 'attributes', params: { from: '1767225600000', to: '1767226800000' } });

    const values = await ds.getTagValues({ key: 'faas.trigger', filters: [], timeRange: range });
    expect(values.map((v) => v.text)).toEqual(['http', 'pubsub', 'timer']);
    expect(calls[1].params.key).toBe('faas.trigger');
  });
});

describe('template variables', () => {
  const run = async (query: VariableQuery) => {
    const { ds, calls } = fixtureDataSource();
    const request = { targets: [query], range } as unknown as DataQueryRequest<VariableQuery>;
    const response = await lastValueFrom((ds.variables as ColdtraceVariableSupport).query(request));
    return { values: response.data.map((v: { text: string }) => v.text), calls };
  };

  it('lists functions', async () => {
    expect((await run({ refId: 'v', kind: 'functions' })).values).toEqual(['checkout', 'report', 'thumbnail']);
  });

  it('lists services', async () => {
    expect((await run({ refId: 'v', kind: 'services' })).values).toEqual(
      expect.arrayContaining(['checkout', 'frontend', 'payments', 'report', 'thumbnail'])
    );
  });

  it('lists the operations of a service named by another variable', async () => {
    const { values, calls } = await run({ refId: 'v', kind: 'operations', service: '$service' });
    expect(calls[0].params.service).toBe('checkout');
    expect(values).toEqual(expect.arrayContaining(['checkout', 'init', 'POST /charge']));
  });

  it('lists attribute values', async () => {
    expect((await run({ refId: 'v', kind: 'attributeValues', key: 'faas.instance' })).values).toEqual([
      'checkout-a',
      'thumbnail-a',
      'checkout-b',
      'report-a',
    ]);
  });

  it('needs a service for operations', async () => {
    expect((await run({ refId: 'v', kind: 'operations' })).values).toEqual([]);
  });
});
