import { Link } from 'react-router';
import { EmptyState } from '../components/States';

export function NotFoundPage() {
  return (
    <EmptyState title="No such page">
      <p>
        <Link to="/">Go to the functions</Link> or <Link to="/traces">search traces</Link>.
      </p>
    </EmptyState>
  );
}
