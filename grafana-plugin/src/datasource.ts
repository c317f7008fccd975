import {
  AdHocVariableFilter,
  CoreApp,
  CustomVariableSupport,
  DataQueryRequest,
  DataQueryResponse,
  DataSourceGetTagKeysOptions,
  DataSourceGetTagValuesOptions,
  DataSourceInstanceSettings,
  MetricFindValue,
  ScopedVars,
  TimeRange,
} from '@grafana/data';
import { DataSourceWithBackend, getTemplateSrv } from '@grafana/runtime';
import { from, map, Observable } from 'rxjs';

import { VariableQueryEditor } from './components/VariableQueryEditor';
import { ColdtraceOptions, ColdtraceQuery, DEFAULT_QUERY, Option, VariableQuery } from './types';

/** Paths of the backend's resource handlers (pkg/plugin/resources.go). */
export type ResourcePath = 'services' | 'operations' | 'functions' | 'attributes' | 'attribute-values';

export class DataSource extends DataSourceWithBackend<ColdtraceQuery, ColdtraceOptions> {
  constructor(instanceSettings: DataSourceInstanceSettings<ColdtraceOptions>) {
    super(instanceSettings);
    this.variables = new ColdtraceVariableSupport(this);
  }

  getDefaultQuery(_: CoreApp): Partial<ColdtraceQuery> {
    return DEFAULT_QUERY;
  }

  /** Lists dropdown entries from a resource handler, over a time range when given. */
  listOptions(path: ResourcePath, params: Record<string, string> = {}, range?: TimeRange): Promise<Option[]> {
    const p: Record<string, string> = { ...params };
    if (range) {
      p.from = String(range.from.valueOf());
      p.to = String(range.to.valueOf());
    }
    return this.getResource<Option[]>(path, p);
  }

  /**
   * Fills dashboard variables into the query before it goes to the backend.
   * A multi-value function variable becomes a comma-separated list, which the
   * backend splits; ad-hoc filters travel as attribute filters.
   */
  applyTemplateVariables(query: ColdtraceQuery, scopedVars: ScopedVars, filters?: AdHocVariableFilter[]): ColdtraceQuery {
    const srv = getTemplateSrv();
    const one = (v?: string) => (v === undefined ? v : srv.replace(v, scopedVars));
    const out: ColdtraceQuery = {
      ...query,
      traceId: one(query.traceId),
      service: one(query.service),
      operation: one(query.operation),
      minDuration: one(query.minDuration),
      maxDuration: one(query.maxDuration),
      status: one(query.status),
      errorType: one(query.errorType),
      version: one(query.version),
      function: query.function === undefined ? undefined : srv.replace(query.function, scopedVars, 'csv'),
    };
    if (query.attributes) {
      out.attributes = Object.fromEntries(
        Object.entries(query.attributes).map(([k, v]) => [srv.replace(k, scopedVars), srv.replace(v, scopedVars)])
      );
    }
    if (filters && filters.length > 0) {
      out.adhocFilters = filters.map((f) => ({ key: f.key, operator: f.operator, value: srv.replace(f.value, scopedVars) }));
    }
    return out;
  }

  /** Queries that cannot run yet (an empty trace ID, no metric) are not sent. */
  filterQuery(query: ColdtraceQuery): boolean {
    if (query.hide) {
      return false;
    }
    switch (query.queryType) {
      case 'trace':
        return !!query.traceId?.trim();
      case 'metrics':
        return !!query.metric;
      default:
        return true;
    }
  }

  /** Ad-hoc filter keys: the attribute keys Coldtrace has seen. */
  async getTagKeys(options?: DataSourceGetTagKeysOptions<ColdtraceQuery>): Promise<MetricFindValue[]> {
    const opts = await this.listOptions('attributes', {}, options?.timeRange);
    return opts.map((o) => ({ text: o.value, value: o.value }));
  }

  /** Ad-hoc filter values: the most frequent values of a key. */
  async getTagValues(options: DataSourceGetTagValuesOptions<ColdtraceQuery>): Promise<MetricFindValue[]> {
    const opts = await this.listOptions('attribute-values', { key: options.key }, options.timeRange);
    return opts.map((o) => ({ text: o.value, value: o.value }));
  }

  /** The values of a template variable. */
  async variableValues(query: VariableQuery, range?: TimeRange): Promise<MetricFindValue[]> {
    const srv = getTemplateSrv();
    let opts: Option[];
    switch (query.kind) {
      case 'functions':
        opts = await this.listOptions('functions', {}, range);
        break;
      case 'services':
        opts = await this.listOptions('services', {}, range);
        break;
      case 'operations':
        if (!query.service) {
          return [];
        }
        opts = await this.listOptions('operations', { service: srv.replace(query.service) }, range);
        break;
      case 'attributeValues':
        if (!query.key) {
          return [];
        }
        opts = await this.listOptions('attribute-values', { key: srv.replace(query.key) }, range);
        break;
      default:
        throw new Error(`unknown variable query kind ${String((query as VariableQuery).kind)}`);
    }
    return opts.map((o) => ({ text: o.label, value: o.value }));
  }
}

/** Template variables: functions, services, a service's operations or an attribute's values. */
export class ColdtraceVariableSupport extends CustomVariableSupport<DataSource, VariableQuery> {
  editor = VariableQueryEditor;

  constructor(private readonly datasource: DataSource) {
    super();
  }

  query(request: DataQueryRequest<VariableQuery>): Observable<DataQueryResponse> {
    return from(this.datasource.variableValues(request.targets[0], request.range)).pipe(map((data) => ({ data })));
  }
}
