import React, { useState } from 'react';
import { DataSourceSettings } from '@grafana/data';
import { render, screen } from '@testing-library/react';
import userEventLib from '@testing-library/user-event';

import { ConfigEditor } from '../components/ConfigEditor';
import { ColdtraceOptions, ColdtraceSecureJsonData } from '../types';
import { instanceSettings } from '../testing/fixtures';

const userEvent = userEventLib.setup({ delay: null });

type Settings = DataSourceSettings<ColdtraceOptions, ColdtraceSecureJsonData>;

function renderConfig(initial: Partial<Settings>) {
  const changes: Settings[] = [];
  const base = {
    ...instanceSettings,
    orgId: 1,
    typeName: 'Coldtrace',
    typeLogoUrl: '',
    url: '',
    user: '',
    database: '',
    basicAuth: false,
    basicAuthUser: '',
    isDefault: false,
    withCredentials: false,
    secureJsonFields: {},
    jsonData: {},
    version: 1,
  } as unknown as Settings;
  function Page() {
    const [options, setOptions] = useState<Settings>({ ...base, ...initial });
    return (
      <ConfigEditor
        options={options}
        onOptionsChange={(o) => {
          changes.push(o);
          setOptions(o);
        }}
      />
    );
  }
  const utils = render(<Page />);
  return { ...utils, last: () => changes[changes.length - 1], input: (id: string) => utils.container.querySelector<HTMLInputElement>(`#${id}`)! };
}

describe('ConfigEditor', () => {
  it('stores URL, tenant and timeout in jsonData and the token in secureJsonData', async () => {
    const { last, input } = renderConfig({});
    await userEvent.type(input('coldtrace-config-url'), 'http://coldtrace:7070');
    await userEvent.type(input('coldtrace-config-tenant'), 'acme');
    await userEvent.type(input('coldtrace-config-timeout'), '45');
    await userEvent.type(input('coldtrace-config-token'), 's3cret');
    expect(last().jsonData).toEqual({ url: 'http://coldtrace:7070', tenant: 'acme', timeoutSeconds: 45 });
    expect(last().secureJsonData).toEqual({ apiToken: 's3cret' });
  });

  it('shows a stored token as configured and resets it', async () => {
    const { last } = renderConfig({ jsonData: { url: 'http://coldtrace:7070' }, secureJsonFields: { apiToken: true } });
    expect(screen.getByDisplayValue('configured')).toBeInTheDocument();
    await userEvent.click(screen.getByRole('button', { name: 'Reset' }));
    expect(last().secureJsonFields.apiToken).toBe(false);
    expect(last().secureJsonData?.apiToken).toBe('');
    expect(last().jsonData.url).toBe('http://coldtrace:7070');
  });
});
