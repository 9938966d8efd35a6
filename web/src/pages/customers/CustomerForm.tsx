import { useState } from 'react';
import { Button, ErrorMessage, Field } from '../../components/ui';

type Customer = CustomerShape;
export interface CustomerShape {
  email: string | null;
  phone: string | null;
  firstName: string | null;
  lastName: string | null;
  emailOptIn: boolean;
  smsOptIn: boolean;
  tags: string[];
  attributes: Record<string, unknown>;
}
export type CustomerInput = CustomerShape;

/** Create and edit share one form; empty text fields are sent as null (cleared). */
export function CustomerForm({ initial, onSubmit, busy, error, submitLabel, onCancel }: {
  initial?: Partial<Customer>; onSubmit: (c: CustomerInput) => void; busy: boolean; error: unknown; submitLabel: string; onCancel?: () => void;
}) {
  const [attrError, setAttrError] = useState<string>();
  return (
    <form
      className="card stack form-grid"
      onSubmit={(e) => {
        e.preventDefault();
        const f = new FormData(e.currentTarget);
        const text = (k: string) => String(f.get(k) ?? '').trim() || null;
        let attributes: Record<string, unknown> = {};
        const raw = String(f.get('attributes') ?? '').trim();
        if (raw) {
          try {
            attributes = JSON.parse(raw);
            if (typeof attributes !== 'object' || attributes === null || Array.isArray(attributes)) throw new Error();
          } catch {
            setAttrError('Attributes must be a JSON object, such as {"city": "Oslo"}.');
            return;
          }
        }
        setAttrError(undefined);
        onSubmit({
          email: text('email'),
          phone: text('phone'),
          firstName: text('firstName'),
          lastName: text('lastName'),
          emailOptIn: f.get('emailOptIn') === 'on',
          smsOptIn: f.get('smsOptIn') === 'on',
          tags: String(f.get('tags') ?? '').split(',').map((t) => t.trim()).filter(Boolean),
          attributes,
        });
      }}
    >
      <div className="grid-2">
        <Field label="First name">{(p) => <input {...p} name="firstName" defaultValue={initial?.firstName ?? ''} maxLength={200} />}</Field>
        <Field label="Last name">{(p) => <input {...p} name="lastName" defaultValue={initial?.lastName ?? ''} maxLength={200} />}</Field>
        <Field label="Email">{(p) => <input {...p} name="email" type="email" defaultValue={initial?.email ?? ''} maxLength={254} />}</Field>
        <Field label="Phone" hint="International format, such as +47 912 34 567.">{(p) => <input {...p} name="phone" type="tel" defaultValue={initial?.phone ?? ''} />}</Field>
      </div>
      <fieldset className="checks">
        <legend>Consent</legend>
        <label><input type="checkbox" name="emailOptIn" defaultChecked={initial?.emailOptIn ?? false} /> Agreed to receive email</label>
        <label><input type="checkbox" name="smsOptIn" defaultChecked={initial?.smsOptIn ?? false} /> Agreed to receive SMS</label>
      </fieldset>
      <Field label="Tags" hint="Separated by commas; campaigns pick their audience by tag.">{(p) => <input {...p} name="tags" defaultValue={(initial?.tags ?? []).join(', ')} />}</Field>
      <Field label="Attributes (JSON)" error={attrError}>
        {(p) => <textarea {...p} name="attributes" rows={3} className="mono" defaultValue={initial?.attributes && Object.keys(initial.attributes).length ? JSON.stringify(initial.attributes, null, 2) : ''} />}
      </Field>
      <ErrorMessage error={error} />
      <div className="row">
        <Button type="submit" busy={busy}>{submitLabel}</Button>
        {onCancel && <Button variant="ghost" onClick={onCancel}>Cancel</Button>}
      </div>
    </form>
  );
}
