import React from 'react';
import { QueryEditorProps } from '@grafana/data';
import { Combobox, InlineField, Input, Stack } from '@grafana/ui';

import type { DataSource } from '../datasource';
import { ColdtraceOptions, ColdtraceQuery, VariableQuery } from '../types';

type Props = QueryEditorProps<DataSource, ColdtraceQuery, ColdtraceOptions, VariableQuery>;

const KINDS: Array<{ label: string; value: VariableQuery['kind']; description: string }> = [
  { label: 'Functions', value: 'functions', description: 'function names (faas.name)' },
  { label: 'Services', value: 'services', description: 'service names (service.name)' },
  { label: 'Operations', value: 'operations', description: 'span names of a service' },
  { label: 'Attribute values', value: 'attributeValues', description: 'most frequent values of an attribute' },
];

/** Editor of a query variable: which list of names it takes its values from. */
export function VariableQueryEditor({ query, onChange }: Props) {
  const kind = query.kind ?? 'functions';
  const set = (patch: Partial<VariableQuery>) => onChange({ ...query, kind, ...patch });
  return (
    <Stack direction="column" gap={0}>
      <InlineField label="Values of" labelWidth={16}>
        <Combobox id="coldtrace-variable-kind" options={KINDS} value={kind} width={30} onChange={(o) => set({ kind: o.value })} />
      </InlineField>
      {kind === 'operations' && (
        <InlineField label="Service" labelWidth={16} tooltip="Another variable works: $service">
          <Input id="coldtrace-variable-service" defaultValue={query.service ?? ''} width={30} onBlur={(e) => set({ service: e.currentTarget.value })} />
        </InlineField>
      )}
      {kind === 'attributeValues' && (
        <InlineField label="Attribute key" labelWidth={16}>
          <Input id="coldtrace-variable-key" defaultValue={query.key ?? ''} placeholder="faas.trigger" width={30} onBlur={(e) => set({ key: e.currentTarget.value })} />
        </InlineField>
      )}
    </Stack>
  );
}
