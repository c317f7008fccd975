import React, { useState } from 'react';
import { InlineField, Input } from '@grafana/ui';

import type { Props } from './QueryEditor';

export function TraceEditor({ query, onChange, onRunQuery }: Props) {
  const [traceId, setTraceId] = useState(query.traceId ?? '');
  const commit = () => {
    const id = traceId.trim();
    if (id !== query.traceId) {
      onChange({ ...query, traceId: id });
      onRunQuery();
    }
  };
  return (
    <InlineField label="Trace ID" labelWidth={16} tooltip="32 hexadecimal digits; template variables work">
      <Input
        id="coldtrace-trace-id"
        value={traceId}
        placeholder="4bf92f3577b34da6a3ce929d0e0e4736"
        width={50}
        onChange={(e) => setTraceId(e.currentTarget.value)}
        onBlur={commit}
        onKeyDown={(e) => e.key === 'Enter' && commit()}
      />
    </InlineField>
  );
}
