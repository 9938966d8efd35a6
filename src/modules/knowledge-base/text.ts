/**
 * The public help center's own words (headings, search, feedback, navigation) in the language of the page's
 * locale, so a French help center is French around its French articles. A locale is matched by its language
 * (`fr-CA` → `fr`); any other language gets English. Organization names, queries and article text are
 * inserted by the caller, escaped.
 */
export interface HelpCenterText {
  center: (org: string) => string;
  home: string;
  searchLabel: string;
  searchPlaceholder: string;
  search: string;
  notFound: string;
  notFoundText: string;
  back: string;
  languages: string;
  howCanWeHelp: string;
  categories: string;
  popular: string;
  noArticles: string;
  description: (org: string) => string;
  resultsFor: (q: string) => string;
  noMatch: string;
  previous: string;
  next: string;
  pages: string;
  alsoIn: string;
  helpful: string;
  thanks: string;
  yes: string;
  no: string;
}

const en: HelpCenterText = {
  center: (org) => `${org} Help Center`,
  home: 'Help Center',
  searchLabel: 'Search the help center',
  searchPlaceholder: 'Search articles',
  search: 'Search',
  notFound: 'Not found',
  notFoundText: 'This page does not exist.',
  back: 'Back to the help center',
  languages: 'Languages:',
  howCanWeHelp: 'How can we help?',
  categories: 'Categories',
  popular: 'Popular articles',
  noArticles: 'No articles yet.',
  description: (org) => `Answers and guides from ${org}`,
  resultsFor: (q) => `Results for “${q}”`,
  noMatch: 'No article matches these words.',
  previous: 'Previous',
  next: 'Next',
  pages: 'Pages',
  alsoIn: 'Also in:',
  helpful: 'Was this article helpful?',
  thanks: 'Thanks for your feedback.',
  yes: 'Yes',
  no: 'No',
};

const fr: HelpCenterText = {
  center: (org) => `Centre d’aide ${org}`,
  home: 'Centre d’aide',
  searchLabel: 'Rechercher dans le centre d’aide',
  searchPlaceholder: 'Rechercher des articles',
  search: 'Rechercher',
  notFound: 'Page introuvable',
  notFoundText: 'Cette page n’existe pas.',
  back: 'Retour au centre d’aide',
  languages: 'Langues :',
  howCanWeHelp: 'Comment pouvons-nous vous aider ?',
  categories: 'Catégories',
  popular: 'Articles populaires',
  noArticles: 'Aucun article pour le moment.',
  description: (org) => `Réponses et guides de ${org}`,
  resultsFor: (q) => `Résultats pour « ${q} »`,
  noMatch: 'Aucun article ne correspond à ces mots.',
  previous: 'Précédent',
  next: 'Suivant',
  pages: 'Pages',
  alsoIn: 'Aussi en :',
  helpful: 'Cet article vous a-t-il été utile ?',
  thanks: 'Merci pour votre avis.',
  yes: 'Oui',
  no: 'Non',
};

const de: HelpCenterText = {
  center: (org) => `${org} Hilfe-Center`,
  home: 'Hilfe-Center',
  searchLabel: 'Im Hilfe-Center suchen',
  searchPlaceholder: 'Artikel suchen',
  search: 'Suchen',
  notFound: 'Nicht gefunden',
  notFoundText: 'Diese Seite existiert nicht.',
  back: 'Zurück zum Hilfe-Center',
  languages: 'Sprachen:',
  howCanWeHelp: 'Wie können wir helfen?',
  categories: 'Kategorien',
  popular: 'Beliebte Artikel',
  noArticles: 'Noch keine Artikel.',
  description: (org) => `Antworten und Anleitungen von ${org}`,
  resultsFor: (q) => `Ergebnisse für „${q}“`,
  noMatch: 'Kein Artikel passt zu diesen Wörtern.',
  previous: 'Zurück',
  next: 'Weiter',
  pages: 'Seiten',
  alsoIn: 'Auch auf:',
  helpful: 'War dieser Artikel hilfreich?',
  thanks: 'Danke für Ihr Feedback.',
  yes: 'Ja',
  no: 'Nein',
};

const es: HelpCenterText = {
  center: (org) => `Centro de ayuda de ${org}`,
  home: 'Centro de ayuda',
  searchLabel: 'Buscar en el centro de ayuda',
  searchPlaceholder: 'Buscar artículos',
  search: 'Buscar',
  notFound: 'No encontrado',
  notFoundText: 'Esta página no existe.',
  back: 'Volver al centro de ayuda',
  languages: 'Idiomas:',
  howCanWeHelp: '¿Cómo podemos ayudarte?',
  categories: 'Categorías',
  popular: 'Artículos populares',
  noArticles: 'Todavía no hay artículos.',
  description: (org) => `Respuestas y guías de ${org}`,
  resultsFor: (q) => `Resultados para «${q}»`,
  noMatch: 'Ningún artículo coincide con estas palabras.',
  previous: 'Anterior',
  next: 'Siguiente',
  pages: 'Páginas',
  alsoIn: 'También en:',
  helpful: '¿Te resultó útil este artículo?',
  thanks: 'Gracias por tu opinión.',
  yes: 'Sí',
  no: 'No',
};

const BY_LANGUAGE: Record<string, HelpCenterText> = { en, fr, de, es };

/** The help center's words for a page in `locale` (by its language; English when we have none for it). */
export const helpCenterText = (locale: string): HelpCenterText => BY_LANGUAGE[locale.toLowerCase().split(/[-_]/)[0]] ?? en;
