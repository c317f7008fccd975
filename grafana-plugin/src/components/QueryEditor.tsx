import React from 'react';
import { QueryEditorProps } from '@grafana/data';
import { RadioButtonGroup, Stack } from '@grafana/ui';

import { DataSource } from '../datasource';
import { ColdtraceOptions, ColdtraceQuery, QUERY_TYPES, QueryType } from '../types';
import { MetricsEditor } from './MetricsEditor';
import { SearchEditor } from './SearchEditor';
import { TraceEditor } from './TraceEditor';

export type Props = QueryEditorProps<DataSource, ColdtraceQuery, ColdtraceOptions>;

const DESCRIPTIONS: Partial<Record<QueryType, string>> = {
  functions: 'Invocations, cold starts, init and duration percentiles, errors and cost of every function version in the time range.',
  serviceMap: 'Calls between services in the time range, drawn by the Node graph panel.',
};

export function QueryEditor(props: Props) {
  const { query, onChange, onRunQuery } = props;
  const queryType = query.queryType ?? 'search';

  const setType = (t: QueryType) => {
    onChange({ ...query, queryType: t });
    onRunQuery();
  };

  return (
    <Stack direction="column" gap={1}>
      <RadioButtonGroup<QueryType> options={QUERY_TYPES} value={queryType} onChange={setType} size="sm" />
      {queryType === 'trace' && <TraceEditor {...props} />}
      {queryType === 'search' && <SearchEditor {...props} />}
      {queryType === 'metrics' && <MetricsEditor {...props} />}
      {DESCRIPTIONS[queryType] && <p>{DESCRIPTIONS[queryType]}</p>}
    </Stack>
  );
}
