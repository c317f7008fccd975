import React, { useCallback } from 'react';
import { Combobox, InlineField, Input, Stack } from '@grafana/ui';

import { ALL_FUNCTIONS, METRICS } from '../types';
import type { Props } from './QueryEditor';
import { ResourceCombobox } from './ResourceCombobox';

const ALL = [{ label: 'All functions', value: ALL_FUNCTIONS, description: 'one series per function' }];

export function MetricsEditor({ query, onChange, onRunQuery, datasource, range }: Props) {
  const loadFunctions = useCallback(() => datasource.listOptions('functions', {}, range), [datasource, range]);
  const update = (patch: Partial<typeof query>) => {
    onChange({ ...query, ...patch });
    onRunQuery();
  };
  return (
    <Stack direction="row" wrap="wrap" gap={1}>
      <InlineField label="Metric" labelWidth={16}>
        <Combobox
          id="coldtrace-metric"
          options={METRICS}
          value={query.metric ?? null}
          placeholder="Choose a metric"
          width={26}
          onChange={(o) => update({ metric: o.value })}
        />
      </InlineField>
      <ResourceCombobox
        id="coldtrace-function"
        label="Function"
        tooltip="One function, or all (one series each); $function works, with multiple values"
        value={query.function || ALL_FUNCTIONS}
        extra={ALL}
        load={loadFunctions}
        onChange={(v) => update({ function: v })}
      />
      <InlineField label="Version" labelWidth={10} tooltip="Only this function version (empty: all versions)">
        <Input
          id="coldtrace-version"
          defaultValue={query.version ?? ''}
          width={14}
          onBlur={(e) => e.currentTarget.value !== (query.version ?? '') && update({ version: e.currentTarget.value || undefined })}
        />
      </InlineField>
    </Stack>
  );
}
