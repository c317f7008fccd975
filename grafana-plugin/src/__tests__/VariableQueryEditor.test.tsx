import React, { useState } from 'react';
import { render, screen } from '@testing-library/react';
import userEventLib from '@testing-library/user-event';

import { VariableQueryEditor } from '../components/VariableQueryEditor';
import { VariableQuery } from '../types';
import { fixtureDataSource } from '../testing/fixtures';

const userEvent = userEventLib.setup({ delay: null });

function renderVariableEditor(initial: VariableQuery) {
  const changes: VariableQuery[] = [];
  const { ds } = fixtureDataSource();
  function Editor() {
    const [query, setQuery] = useState(initial);
    return (
      <VariableQueryEditor
        datasource={ds}
        query={query}
        onRunQuery={() => {}}
        onChange={(q) => {
          changes.push(q);
          setQuery(q);
        }}
      />
    );
  }
  const utils = render(<Editor />);
  return { ...utils, last: () => changes[changes.length - 1], input: (id: string) => utils.container.querySelector<HTMLInputElement>(`#${id}`)! };
}

describe('VariableQueryEditor', () => {
  it('defaults to functions and asks a service for operations', async () => {
    const { last, input } = renderVariableEditor({ refId: 'v' } as VariableQuery);
    expect(input('coldtrace-variable-kind').value).toBe('Functions');
    expect(input('coldtrace-variable-service')).toBeNull();
    await userEvent.click(input('coldtrace-variable-kind'));
    await userEvent.click(await screen.findByRole('option', { name: /^Operations/ }));
    expect(last().kind).toBe('operations');
    await userEvent.type(input('coldtrace-variable-service'), '$service');
    await userEvent.click(document.body);
    expect(last()).toEqual({ refId: 'v', kind: 'operations', service: '$service' });
  });

  it('asks an attribute key for attribute values', async () => {
    const { last, input } = renderVariableEditor({ refId: 'v', kind: 'attributeValues' });
    await userEvent.type(input('coldtrace-variable-key'), 'faas.trigger');
    await userEvent.click(document.body);
    expect(last()).toEqual({ refId: 'v', kind: 'attributeValues', key: 'faas.trigger' });
  });
});
