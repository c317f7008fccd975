import React, { useEffect, useState } from 'react';
import { Combobox, ComboboxOption, InlineField } from '@grafana/ui';

import { Option } from '../types';

interface Props {
  label: string;
  tooltip?: string;
  /** Element id, also what tests find the input by. */
  id: string;
  value?: string;
  /** Loads the options; give a stable function (useCallback) so they load once per change of its inputs. */
  load: () => Promise<Option[]>;
  /** Options listed before the loaded ones, such as "All functions". */
  extra?: Option[];
  onChange: (value: string | undefined) => void;
  placeholder?: string;
  width?: number;
  labelWidth?: number;
}

/**
 * A dropdown fed by one of the backend's resource handlers. Values not in the
 * list can be typed in, so template variables such as $service work.
 */
export function ResourceCombobox(props: Props) {
  const { label, tooltip, id, value, load, extra, onChange, placeholder, width = 30, labelWidth = 16 } = props;
  // Which load the options came from: while it differs from the current
  // one, a newer list is on its way.
  const [result, setResult] = useState<{ from?: Props['load']; options: Option[]; error?: string }>({ options: [] });

  useEffect(() => {
    let current = true;
    load().then(
      (options) => current && setResult({ from: load, options }),
      (e: unknown) => current && setResult({ from: load, options: [], error: errorText(e) })
    );
    return () => {
      current = false;
    };
  }, [load]);

  const loading = result.from !== load;
  const error = result.error;
  const loaded = result.options;
  const options: ComboboxOption[] = [...(extra ?? []), ...loaded];
  return (
    <InlineField label={label} labelWidth={labelWidth} tooltip={tooltip} invalid={!!error} error={error}>
      <Combobox
        id={id}
        value={value ? { label: options.find((o) => o.value === value)?.label ?? value, value } : null}
        options={options}
        loading={loading}
        placeholder={placeholder}
        width={width}
        createCustomValue
        isClearable
        onChange={(o) => onChange(o?.value || undefined)}
      />
    </InlineField>
  );
}

/** The readable part of an error from getResource (Grafana's FetchError) or anything else. */
export function errorText(e: unknown): string {
  if (e && typeof e === 'object') {
    const err = e as { data?: { message?: string }; message?: string; statusText?: string };
    return err.data?.message || err.message || err.statusText || 'request failed';
  }
  return String(e);
}
