import { schema, type Database } from './db/index.js';
import { signUp } from './modules/auth/service.js';
import { createArticle, setArticleStatus } from './modules/knowledge-base/service.js';

/** Two demo organizations with a user and a few customers each, created through the same services the API uses. */
export async function seedDemo(db: Database) {
  const lines: string[] = [];
  for (const [org, who] of [['Acme', 'alice'], ['Globex', 'bob']] as const) {
    const email = `${who}@${org.toLowerCase()}.example`;
    try {
      const { organization, user } = await signUp(db, { email, password: 'demo-password-123', name: who, organizationName: org }, { requestId: 'seed-demo' });
      await db.withTenant(organization!.id, async (tx) => {
        await tx.insert(schema.customers).values(
          Array.from({ length: 5 }, (_, i) => ({
            organizationId: organization!.id,
            email: `customer${i + 1}@shared.example`,
            firstName: `Customer ${i + 1}`,
            emailOptIn: i % 2 === 0,
            smsOptIn: i % 3 === 0,
            phone: `+1555000${org.length}${i}`,
          })),
        );
        // A published help center article (/help/<slug>), in English and French.
        const ctx = { organizationId: organization!.id, actor: { type: 'user' as const, id: user.id }, requestId: 'seed-demo', role: 'owner' as const };
        const article = await createArticle(tx, ctx, {
          categoryId: null,
          translations: {
            en: { title: `Getting started with ${org}`, description: 'Your account in five minutes', body: `Sign in, then open **Settings** to invite your team.\n\nQuestions? Reply to any of our emails.` },
            fr: { title: `Bien démarrer avec ${org}`, description: 'Votre compte en cinq minutes', body: 'Connectez-vous, puis ouvrez **Paramètres** pour inviter votre équipe.' },
          },
        }, '');
        await setArticleStatus(tx, ctx, article.id, 'published', '');
      });
      lines.push(`${org}: sign in as ${email} / demo-password-123; help center at /help/${organization!.slug}`);
    } catch (err) {
      lines.push(`${org}: ${(err as Error).message}`);
    }
  }
  return lines.join('\n');
}
