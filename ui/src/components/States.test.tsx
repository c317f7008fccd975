import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, render, screen } from '@testing-library/react';
import { ApiError } from '../api/client';
import { ErrorState } from './States';

describe('ErrorState', () => {
  afterEach(cleanup);

  it('offers no retry for a request the API refused', () => {
    render(<ErrorState error={new ApiError(400, 'minDuration: "abc" is not a duration', '/traces')} onRetry={() => {}} />);
    expect(screen.getByText('The API refused this request')).toBeTruthy();
    expect(screen.getByText(/is not a duration/)).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Try again' })).toBeNull();
  });

  it('offers a retry when the failure may pass', () => {
    render(<ErrorState error={new ApiError(503, 'ClickHouse is unreachable', '/traces')} onRetry={() => {}} />);
    expect(screen.getByText('Something went wrong')).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Try again' })).toBeTruthy();
  });
});
