import React, { useEffect, useState } from 'react';
import { Button, Combobox, ComboboxOption, IconButton, InlineField, Input, Stack } from '@grafana/ui';

import { Option } from '../types';

interface Props {
  value?: Record<string, string>;
  loadKeys: () => Promise<Option[]>;
  onChange: (value: Record<string, string> | undefined) => void;
}

type Row = { key: string; value: string };

/** Attribute equality filters (span or resource attributes), one row each. */
export function AttributeFilters({ value, loadKeys, onChange }: Props) {
  const [rows, setRows] = useState<Row[]>(() => Object.entries(value ?? {}).map(([k, v]) => ({ key: k, value: v })));
  const [keys, setKeys] = useState<ComboboxOption[]>([]);

  useEffect(() => {
    let current = true;
    // A failed key list only costs the suggestions: keys can still be typed.
    loadKeys()
      .then((opts) => current && setKeys(opts))
      .catch(() => current && setKeys([]));
    return () => {
      current = false;
    };
  }, [loadKeys]);

  const commit = (next: Row[]) => {
    setRows(next);
    const complete = next.filter((r) => r.key.trim() !== '');
    onChange(complete.length ? Object.fromEntries(complete.map((r) => [r.key.trim(), r.value])) : undefined);
  };

  return (
    <Stack direction="column" gap={0}>
      {rows.map((row, i) => (
        <Stack key={i} direction="row" gap={1}>
          <InlineField label={i === 0 ? 'Attributes' : ''} labelWidth={16}>
            <Combobox
              id={`coldtrace-attr-key-${i}`}
              options={keys}
              value={row.key ? { label: row.key, value: row.key } : null}
              placeholder="key"
              width={30}
              createCustomValue
              onChange={(o) => commit(rows.map((r, j) => (j === i ? { ...r, key: o.value } : r)))}
            />
          </InlineField>
          <InlineField label="=">
            <Input
              id={`coldtrace-attr-value-${i}`}
              aria-label={`value of attribute filter ${i + 1}`}
              defaultValue={row.value}
              placeholder="value"
              width={24}
              onBlur={(e) => {
                const v = e.currentTarget.value;
                if (v !== row.value) {
                  commit(rows.map((r, j) => (j === i ? { ...r, value: v } : r)));
                }
              }}
            />
          </InlineField>
          <IconButton name="times" tooltip="Remove this filter" onClick={() => commit(rows.filter((_, j) => j !== i))} />
        </Stack>
      ))}
      <Stack direction="row">
        <Button variant="secondary" size="sm" icon="plus" fill="text" onClick={() => setRows([...rows, { key: '', value: '' }])}>
          Attribute filter
        </Button>
      </Stack>
    </Stack>
  );
}
