import { describe, expect, it, vi } from 'vitest';
import { fireEvent, render, screen, within } from '@testing-library/react';
import { MemoryRouter } from 'react-router';
import { span } from '../../test/spans';
import { withWaterfallViewport } from '../../test/viewport';
import { Waterfall } from './Waterfall';
import { SpanDetails } from './SpanDetails';

// A cold-start invocation: the invocation span, its init child, a handler
// child that times out, and a grandchild.
const coldTrace = [
  span('inv', '', 0, 900, { name: 'checkout', service: 'checkout', coldStart: true, errorType: 'timeout', status: 'ERROR' }),
  span('init', 'inv', 0, 400, { name: 'init', service: 'checkout' }),
  span('handler', 'inv', 400, 500, { name: 'handler', service: 'checkout' }),
  span('db', 'handler', 450, 100, { name: 'SELECT orders', service: 'postgres' }),
];

withWaterfallViewport();

const rowNames = () => screen.getAllByRole('treeitem').map((r) => r.getAttribute('data-span-name'));

describe('Waterfall', () => {
  it('draws the span tree in order with cold start, init and timeout marked', () => {
    render(<Waterfall spans={coldTrace} onSelect={() => {}} />);
    expect(rowNames()).toEqual(['checkout', 'init', 'handler', 'SELECT orders']);
    const inv = screen.getAllByRole('treeitem')[0];
    expect(within(inv).getByText('❄ cold start')).toBeTruthy();
    expect(within(inv).getByText('timeout')).toBeTruthy();
    const init = screen.getAllByRole('treeitem')[1];
    expect(within(init).getByText('init', { selector: '.badge' })).toBeTruthy();
    expect(init.querySelector('.wf-bar-init')).not.toBeNull();
    expect(inv.querySelector('.wf-bar-error')).not.toBeNull();
    expect(screen.getByText(/4 spans · 2 services/)).toBeTruthy();
  });

  it('places bars on the shared time axis', () => {
    render(<Waterfall spans={coldTrace} onSelect={() => {}} />);
    const handler = screen.getAllByRole('treeitem')[2].querySelector<HTMLElement>('.wf-bar')!;
    expect(parseFloat(handler.style.left)).toBeCloseTo((400 / 900) * 100, 5);
    expect(parseFloat(handler.style.width)).toBeCloseTo((500 / 900) * 100, 5);
  });

  it('collapses and expands a subtree', () => {
    render(<Waterfall spans={coldTrace} onSelect={() => {}} />);
    fireEvent.click(screen.getAllByRole('button', { name: 'Collapse' })[0]);
    expect(rowNames()).toEqual(['checkout']);
    fireEvent.click(screen.getByRole('button', { name: 'Expand 3 spans' }));
    expect(rowNames()).toHaveLength(4);
    fireEvent.click(screen.getByRole('button', { name: 'Collapse all' }));
    expect(rowNames()).toEqual(['checkout', 'init', 'handler']);
    fireEvent.click(screen.getByRole('button', { name: 'Expand all' }));
    expect(rowNames()).toHaveLength(4);
  });

  it('is driven by the keyboard: arrows move, left/right fold, Enter selects', () => {
    const onSelect = vi.fn();
    render(<Waterfall spans={coldTrace} onSelect={onSelect} />);
    const tree = screen.getByRole('tree');
    fireEvent.keyDown(tree, { key: 'ArrowDown' });
    fireEvent.keyDown(tree, { key: 'ArrowDown' });
    fireEvent.keyDown(tree, { key: 'Enter' });
    expect(onSelect).toHaveBeenLastCalledWith('handler');
    expect(tree.getAttribute('aria-activedescendant')).toBe('wf-row-handler');
    fireEvent.keyDown(tree, { key: 'ArrowLeft' }); // fold the handler's subtree
    expect(rowNames()).toEqual(['checkout', 'init', 'handler']);
    fireEvent.keyDown(tree, { key: 'ArrowLeft' }); // already folded: go to the parent
    expect(tree.getAttribute('aria-activedescendant')).toBe('wf-row-inv');
    fireEvent.keyDown(tree, { key: 'End' });
    fireEvent.keyDown(tree, { key: ' ' });
    expect(onSelect).toHaveBeenLastCalledWith('handler');
  });

  it('selects a span on click and shows it as selected', () => {
    const onSelect = vi.fn();
    const { rerender } = render(<Waterfall spans={coldTrace} onSelect={onSelect} />);
    fireEvent.click(screen.getAllByRole('treeitem')[3]);
    expect(onSelect).toHaveBeenCalledWith('db');
    rerender(<Waterfall spans={coldTrace} onSelect={onSelect} selectedSpanId="db" />);
    expect(screen.getAllByRole('treeitem')[3].getAttribute('aria-selected')).toBe('true');
  });

  it('renders only a window of a 10,000-span trace', () => {
    const spans = Array.from({ length: 10_000 }, (_, i) => span(`s${i}`, i === 0 ? '' : 's0', i, 5));
    render(<Waterfall spans={spans} onSelect={() => {}} />);
    expect(screen.getByText(/10,000 spans/)).toBeTruthy();
    expect(screen.getAllByRole('treeitem').length).toBeLessThan(100);
  });
});

describe('SpanDetails', () => {
  it('shows timing, invocation facts, attributes, resource, events and links', () => {
    const s = span('inv', '', 2, 900, {
      name: 'checkout',
      service: 'checkout',
      coldStart: true,
      facts: [['Init duration', '400 ms']],
      attributes: { 'faas.trigger': 'http' },
      resource: { 'faas.name': 'checkout' },
      events: [{ name: 'exception', timeMs: 12, attributes: { 'exception.message': 'boom' } }],
      links: [{ traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), attributes: {} }],
    });
    const onClose = vi.fn();
    render(
      <MemoryRouter>
        <SpanDetails span={s} onClose={onClose} />
      </MemoryRouter>,
    );
    expect(screen.getByRole('heading', { name: /checkout/ })).toBeTruthy();
    expect(screen.getByText('400 ms')).toBeTruthy();
    expect(screen.getByText('faas.trigger')).toBeTruthy();
    expect(screen.getByText('faas.name')).toBeTruthy();
    expect(screen.getByText('boom')).toBeTruthy();
    expect(screen.getByText('+10 ms')).toBeTruthy(); // event 10 ms after the span's start
    expect(screen.getByRole('link').getAttribute('href')).toBe(`/traces/${'a'.repeat(32)}?span=${'b'.repeat(16)}`);
    fireEvent.click(screen.getByRole('button', { name: 'Close span details' }));
    expect(onClose).toHaveBeenCalled();
  });
});
