import React, { useState } from 'react';
import { dateTime } from '@grafana/data';
import { render, screen, waitFor } from '@testing-library/react';
import userEventLib from '@testing-library/user-event';

import { QueryEditor } from '../components/QueryEditor';
import { DataSource } from '../datasource';
import { ColdtraceQuery } from '../types';
import { fixtureDataSource } from '../testing/fixtures';

// No pause between keystrokes: jsdom needs none.
const userEvent = userEventLib.setup({ delay: null });

const range = { from: dateTime(1767225600000), to: dateTime(1767226800000), raw: { from: 'now-20m', to: 'now' } };

/** Renders the editor as a panel does: it owns the query and re-renders on change. */
function renderEditor(initial: ColdtraceQuery, ds: DataSource = fixtureDataSource().ds) {
  const changes: ColdtraceQuery[] = [];
  const onRunQuery = jest.fn();
  function Panel() {
    const [query, setQuery] = useState(initial);
    return (
      <QueryEditor
        datasource={ds}
        query={query}
        range={range}
        onRunQuery={onRunQuery}
        onChange={(q) => {
          changes.push(q);
          setQuery(q);
        }}
      />
    );
  }
  const utils = render(<Panel />);
  const input = (id: string) => utils.container.querySelector<HTMLInputElement>(`#${id}`)!;
  const last = () => changes[changes.length - 1];
  return { ...utils, changes, last, onRunQuery, input };
}

/** Types into a combobox to narrow its (virtualised) list and picks the option with this label. */
async function pick(input: HTMLInputElement, label: string) {
  await userEvent.clear(input);
  await userEvent.type(input, label);
  await userEvent.click(await screen.findByRole('option', { name: new RegExp(`^${label}`) }));
}

describe('QueryEditor', () => {
  it('switches query types and runs the query', async () => {
    const { last, onRunQuery } = renderEditor({ refId: 'A', queryType: 'search' });
    await userEvent.click(screen.getByLabelText('Metrics'));
    expect(last().queryType).toBe('metrics');
    expect(onRunQuery).toHaveBeenCalled();
    expect(screen.getByText('Metric')).toBeInTheDocument();
    await userEvent.click(screen.getByLabelText('Service map'));
    expect(last().queryType).toBe('serviceMap');
    expect(screen.getByText(/Node graph/)).toBeInTheDocument();
  });

  it('takes a trace ID on blur or Enter, trimmed', async () => {
    const { last, input, onRunQuery } = renderEditor({ refId: 'A', queryType: 'trace' });
    await userEvent.type(input('coldtrace-trace-id'), '  C01D7ACE000000000000000000000001 {Enter}');
    expect(last().traceId).toBe('C01D7ACE000000000000000000000001');
    expect(onRunQuery).toHaveBeenCalledTimes(1);
  });

  describe('search', () => {
    it('lists services and then the chosen service’s operations', async () => {
      const { ds, calls } = fixtureDataSource();
      const { last, input } = renderEditor({ refId: 'A', queryType: 'search', operation: 'stale' }, ds);
      await pick(input('coldtrace-service'), 'checkout');
      expect(last().service).toBe('checkout');
      expect(last().operation).toBeUndefined();
      await waitFor(() => expect(calls).toContainEqual({ path: 'operations', params: { service: 'checkout', from: '1767225600000', to: '1767226800000' } }));
      await pick(input('coldtrace-operation'), 'POST /charge');
      expect(last()).toMatchObject({ service: 'checkout', operation: 'POST /charge' });
    });

    it('accepts a template variable as the service', async () => {
      const { last, input } = renderEditor({ refId: 'A', queryType: 'search' });
      await userEvent.type(input('coldtrace-service'), '$service');
      await userEvent.click(await screen.findByRole('option', { name: /\$service/ }));
      expect(last().service).toBe('$service');
    });

    it('sets cold start, status, error type, durations and limit', async () => {
      const { last, input } = renderEditor({ refId: 'A', queryType: 'search' });
      await userEvent.click(screen.getByLabelText('Cold starts'));
      expect(last().coldStart).toBe(true);
      await userEvent.click(screen.getByLabelText('Warm'));
      expect(last().coldStart).toBe(false);
      await userEvent.click(screen.getByLabelText('Any'));
      expect(last().coldStart).toBeUndefined();

      await pick(input('coldtrace-error-type'), 'timeout');
      await pick(input('coldtrace-status'), 'error');
      await userEvent.type(input('coldtrace-min-duration'), '100ms');
      await userEvent.type(input('coldtrace-limit'), '50');
      await userEvent.click(document.body);
      expect(last()).toMatchObject({ errorType: 'timeout', status: 'error', minDuration: '100ms', limit: 50 });
    });

    it('edits attribute filters', async () => {
      const { last, input } = renderEditor({ refId: 'A', queryType: 'search' });
      await userEvent.click(screen.getByRole('button', { name: /Attribute filter/ }));
      await pick(input('coldtrace-attr-key-0'), 'http.route');
      await userEvent.type(screen.getByLabelText('value of attribute filter 1'), '/checkout');
      await userEvent.click(document.body);
      expect(last().attributes).toEqual({ 'http.route': '/checkout' });
      await userEvent.click(screen.getByRole('button', { name: 'Remove this filter' }));
      expect(last().attributes).toBeUndefined();
    });

    it('shows why a dropdown could not load', async () => {
      const { ds } = fixtureDataSource();
      ds.getResource = jest.fn().mockRejectedValue({ status: 502, data: { message: 'cannot reach Coldtrace at http://x' } });
      renderEditor({ refId: 'A', queryType: 'search' }, ds);
      expect((await screen.findAllByText('cannot reach Coldtrace at http://x')).length).toBeGreaterThan(0);
    });
  });

  describe('metrics', () => {
    it('picks a metric and a function, all functions by default', async () => {
      const { last, input } = renderEditor({ refId: 'A', queryType: 'metrics' });
      await waitFor(() => expect(input('coldtrace-function').value).toBe('All functions'));
      await pick(input('coldtrace-metric'), 'Cold start rate');
      expect(last().metric).toBe('coldstart_rate');
      // Clearing the function means all functions again, so open the short list instead of typing.
      await userEvent.click(input('coldtrace-function'));
      await userEvent.click(await screen.findByRole('option', { name: /^thumbnail/ }));
      expect(last().function).toBe('thumbnail');
      await userEvent.type(input('coldtrace-version'), 'v3');
      await userEvent.click(document.body);
      expect(last()).toMatchObject({ metric: 'coldstart_rate', function: 'thumbnail', version: 'v3' });
    });

    it('offers the init duration median', async () => {
      const { last, input } = renderEditor({ refId: 'A', queryType: 'metrics' });
      await pick(input('coldtrace-metric'), 'Init duration p50');
      expect(last().metric).toBe('init_p50');
    });
  });
});
