import { Link } from 'react-router';
import { NotFoundState, PageHeader } from '../components/ui';

export default function NotFound() {
  return (
    <>
      <PageHeader title="Not found" />
      <NotFoundState />
      <p><Link to="/">Back to home</Link></p>
    </>
  );
}
