import React, { ChangeEvent } from 'react';
import { DataSourcePluginOptionsEditorProps } from '@grafana/data';
import { InlineField, Input, SecretInput, Stack } from '@grafana/ui';

import { ColdtraceOptions, ColdtraceSecureJsonData } from '../types';

type Props = DataSourcePluginOptionsEditorProps<ColdtraceOptions, ColdtraceSecureJsonData>;

/** The data source page: where Coldtrace is and how to authenticate. */
export function ConfigEditor({ options, onOptionsChange }: Props) {
  const { jsonData, secureJsonFields, secureJsonData } = options;
  const setJson = (patch: Partial<ColdtraceOptions>) => onOptionsChange({ ...options, jsonData: { ...jsonData, ...patch } });

  return (
    <Stack direction="column" gap={0}>
      <InlineField label="URL" labelWidth={18} tooltip="Coldtrace's REST API and web UI address (--http-addr), without /api/v1" required>
        <Input
          id="coldtrace-config-url"
          value={jsonData.url ?? ''}
          placeholder="http://localhost:7070"
          width={50}
          onChange={(e: ChangeEvent<HTMLInputElement>) => setJson({ url: e.currentTarget.value })}
        />
      </InlineField>
      <InlineField label="API token" labelWidth={18} tooltip="Sent as Authorization: Bearer; stored encrypted and never sent to browsers">
        <SecretInput
          id="coldtrace-config-token"
          isConfigured={!!secureJsonFields?.apiToken}
          value={secureJsonData?.apiToken ?? ''}
          placeholder="optional"
          width={50}
          onChange={(e: ChangeEvent<HTMLInputElement>) =>
            onOptionsChange({ ...options, secureJsonData: { ...secureJsonData, apiToken: e.currentTarget.value } })
          }
          onReset={() =>
            onOptionsChange({
              ...options,
              secureJsonFields: { ...secureJsonFields, apiToken: false },
              secureJsonData: { ...secureJsonData, apiToken: '' },
            })
          }
        />
      </InlineField>
      <InlineField label="Tenant" labelWidth={18} tooltip="Sent as X-Scope-OrgID; empty reads the default tenant">
        <Input
          id="coldtrace-config-tenant"
          value={jsonData.tenant ?? ''}
          placeholder="default tenant"
          width={50}
          onChange={(e: ChangeEvent<HTMLInputElement>) => setJson({ tenant: e.currentTarget.value || undefined })}
        />
      </InlineField>
      <InlineField label="Timeout (seconds)" labelWidth={18} tooltip="Limit of one API call, 1 to 600 (default 30)">
        <Input
          id="coldtrace-config-timeout"
          type="number"
          value={jsonData.timeoutSeconds ?? ''}
          placeholder="30"
          width={12}
          onChange={(e: ChangeEvent<HTMLInputElement>) =>
            setJson({ timeoutSeconds: e.currentTarget.value ? Number(e.currentTarget.value) : undefined })
          }
        />
      </InlineField>
    </Stack>
  );
}
