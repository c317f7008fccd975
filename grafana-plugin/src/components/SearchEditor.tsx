import React, { useCallback } from 'react';
import { Combobox, InlineField, Input, RadioButtonGroup, Stack } from '@grafana/ui';

import { ColdtraceQuery, ERROR_TYPES, STATUSES } from '../types';
import { AttributeFilters } from './AttributeFilters';
import type { Props } from './QueryEditor';
import { ResourceCombobox } from './ResourceCombobox';

const COLD_START = [
  { label: 'Any', value: 'any' },
  { label: 'Cold starts', value: 'true' },
  { label: 'Warm', value: 'false' },
];

export function SearchEditor({ query, onChange, onRunQuery, datasource, range }: Props) {
  const update = (patch: Partial<ColdtraceQuery>) => {
    onChange({ ...query, ...patch });
    onRunQuery();
  };
  const loadServices = useCallback(() => datasource.listOptions('services', {}, range), [datasource, range]);
  const service = query.service;
  const loadOperations = useCallback(
    () => (service ? datasource.listOptions('operations', { service }, range) : Promise.resolve([])),
    [datasource, range, service]
  );
  const loadKeys = useCallback(() => datasource.listOptions('attributes', {}, range), [datasource, range]);
  const text = (field: 'minDuration' | 'maxDuration' | 'limit', id: string, label: string, placeholder: string, tooltip: string) => (
    <InlineField label={label} labelWidth={16} tooltip={tooltip}>
      <Input
        id={id}
        defaultValue={query[field] === undefined ? '' : String(query[field])}
        placeholder={placeholder}
        width={14}
        onBlur={(e) => {
          const v = e.currentTarget.value.trim();
          const next = field === 'limit' ? (v ? Number(v) : undefined) : v || undefined;
          if (next !== query[field]) {
            update({ [field]: next });
          }
        }}
      />
    </InlineField>
  );

  return (
    <Stack direction="column" gap={0}>
      <Stack direction="row" wrap="wrap" gap={1}>
        <ResourceCombobox
          id="coldtrace-service"
          label="Service"
          value={service}
          load={loadServices}
          placeholder="Any service"
          onChange={(v) => update({ service: v, operation: undefined })}
        />
        <ResourceCombobox
          id="coldtrace-operation"
          label="Operation"
          labelWidth={12}
          value={query.operation}
          load={loadOperations}
          placeholder="Any span name"
          onChange={(v) => update({ operation: v })}
        />
      </Stack>
      <Stack direction="row" wrap="wrap" gap={1}>
        {text('minDuration', 'coldtrace-min-duration', 'Min duration', '100ms', 'A span of the trace lasted at least this long')}
        {text('maxDuration', 'coldtrace-max-duration', 'Max duration', '5s', 'A span of the trace lasted at most this long')}
        {text('limit', 'coldtrace-limit', 'Limit', '20', 'Traces listed, 1 to 1000')}
      </Stack>
      <Stack direction="row" wrap="wrap" gap={1}>
        <InlineField label="Cold start" labelWidth={16}>
          <RadioButtonGroup
            options={COLD_START}
            value={query.coldStart === undefined ? 'any' : String(query.coldStart)}
            onChange={(v) => update({ coldStart: v === 'any' ? undefined : v === 'true' })}
          />
        </InlineField>
        <InlineField label="Status" labelWidth={10}>
          <Combobox
            id="coldtrace-status"
            options={STATUSES.map((s) => ({ label: s, value: s }))}
            value={query.status ?? null}
            placeholder="Any"
            width={14}
            isClearable
            onChange={(o) => update({ status: o?.value })}
          />
        </InlineField>
        <InlineField label="Error type" labelWidth={12}>
          <Combobox
            id="coldtrace-error-type"
            options={ERROR_TYPES.map((s) => ({ label: s, value: s }))}
            value={query.errorType ?? null}
            placeholder="Any"
            width={20}
            isClearable
            onChange={(o) => update({ errorType: o?.value })}
          />
        </InlineField>
      </Stack>
      <AttributeFilters value={query.attributes} loadKeys={loadKeys} onChange={(attributes) => update({ attributes })} />
    </Stack>
  );
}
