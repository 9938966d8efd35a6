import { createHash } from 'node:crypto';
import { AppError } from '../../http/errors.js';
import { TemplateRenderError, TemplateTooExpensiveError, type RenderPool } from '../email/render-pool.js';
import { customerVars } from '../email/templates.js';

// SMS bodies are Liquid rendered in the same bounded worker-thread pool as email templates
// (time, output and memory budgets, off the event loop), through its plain-text part.

export { TemplateRenderError, TemplateTooExpensiveError, type RenderPool };

export type SmsCustomer = Parameters<typeof customerVars>[0];

/** A customer to preview with when none is named. */
export const SAMPLE_CUSTOMER: SmsCustomer = {
  email: 'ada@example.com',
  firstName: 'Ada',
  lastName: 'Lovelace',
  phone: '+14155552671',
  tags: ['vip'],
  attributes: {},
};

const varsFor = (campaignName: string, customer: SmsCustomer) => ({ customer: customerVars(customer), campaign: { name: campaignName }, unsubscribe_url: '' });
const keyOf = (body: string) => `sms:${createHash('sha256').update(body).digest('base64url')}`;

/** The body for one customer. Throws TemplateRenderError / TemplateTooExpensiveError. */
export async function renderSmsBody(pool: RenderPool, organizationId: string, campaign: { name: string; body: string }, customer: SmsCustomer): Promise<string> {
  const sources = { subject: '', preheader: null, html: '', text: campaign.body };
  const out = await pool.render(organizationId, { key: keyOf(campaign.body), sources }, varsFor(campaign.name, customer));
  return out.text;
}

/** Renders for a preview: a template error is the client's (400), an overrun a 422. */
export async function renderForPreview(pool: RenderPool, organizationId: string, campaign: { name: string; body: string }, customer: SmsCustomer) {
  try {
    return await renderSmsBody(pool, organizationId, campaign, customer);
  } catch (err) {
    if (err instanceof TemplateTooExpensiveError) throw new AppError('template_too_expensive', `Template too expensive: ${err.message}`, [{ in: 'body', path: 'body', message: err.message }]);
    if (err instanceof TemplateRenderError) {
      throw new AppError('validation_failed', `The SMS body is not a valid Liquid template: ${err.message}`, [{ in: 'body', path: 'body', message: err.message }]);
    }
    throw err;
  }
}
