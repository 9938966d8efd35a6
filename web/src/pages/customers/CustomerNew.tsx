import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate } from 'react-router';
import { api, unwrap } from '../../api/client';
import { PageHeader } from '../../components/ui';
import { CustomerForm, type CustomerInput } from './CustomerForm';

export default function CustomerNew() {
  const navigate = useNavigate();
  const qc = useQueryClient();
  const create = useMutation({
    mutationFn: (body: CustomerInput) => unwrap(api.POST('/api/customers', { body })),
    onSuccess: async (c) => {
      await qc.invalidateQueries({ queryKey: ['customers'] });
      await navigate(`/customers/${c.id}`);
    },
  });
  return (
    <>
      <PageHeader title="New customer" back={<Link className="back" to="/customers">← Customers</Link>} />
      <CustomerForm onSubmit={(c) => create.mutate(c)} busy={create.isPending} error={create.error} submitLabel="Create customer" />
    </>
  );
}
