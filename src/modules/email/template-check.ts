import type { Config } from '../../config.js';
import { AppError } from '../../http/errors.js';
import { TemplateRenderError, TemplateTooExpensiveError, type RenderPool } from './render-pool.js';
import { customerVars, type CampaignSources } from './templates.js';

const FIELDS = ['subject', 'preheader', 'html', 'text'] as const;

/** The variables of a trial render: a customer with empty fields. */
export const sampleVars = (config: Config, campaignName = '') => ({
  customer: customerVars({ email: null, firstName: null, lastName: null }),
  campaign: { name: campaignName },
  unsubscribe_url: `${config.publicUrl}/api/unsubscribe/preview`,
});

/**
 * Templates being saved are parsed, and rendered once for a customer with empty fields, in the
 * render pool (never on the event loop; parsing alone can take seconds for a hostile 512 KiB
 * template). A syntax or render error is a 400, a template over its budget a 422.
 */
export async function checkCampaignTemplates(pool: RenderPool, config: Config, organizationId: string, body: Partial<Record<(typeof FIELDS)[number], string | null>> & { name?: string }) {
  const fields: Partial<CampaignSources> = {};
  for (const f of FIELDS) if (typeof body[f] === 'string') (fields as Record<string, string>)[f] = body[f];
  if (!Object.keys(fields).length) return;
  let issues;
  try {
    issues = await pool.check(organizationId, fields, sampleVars(config, body.name));
  } catch (err) {
    if (err instanceof TemplateTooExpensiveError) throw new AppError('template_too_expensive', `Template too expensive: ${err.message}`);
    throw err;
  }
  const invalid = issues.filter((i) => !i.tooExpensive);
  const detail = (i: (typeof issues)[number]) => ({ in: 'body', path: i.path, message: i.message });
  if (invalid.length) throw new AppError('validation_failed', 'Validation failed', invalid.map(detail));
  if (issues.length) throw new AppError('template_too_expensive', issues[0].message, issues.map(detail));
}

/** A template that cannot be rendered for a test send, as the API answers it. */
export function renderFailure(err: unknown): unknown {
  if (err instanceof TemplateTooExpensiveError) return new AppError('template_too_expensive', `Template too expensive: ${err.message}`);
  if (err instanceof TemplateRenderError) return new AppError('bad_request', `The template cannot be rendered: ${err.message}`);
  return err;
}
