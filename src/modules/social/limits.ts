import twitter from 'twitter-text';
import type { SocialPlatform } from '../../config.js';

/**
 * What each platform accepts in one post, from its own documentation:
 * - X: 280 weighted characters, counted by twitter-text's parseTweet (CJK and emoji weigh 2, every
 *   URL 23); images need X's media upload, which is not built yet.
 * - Facebook Pages: 63,206 characters; up to 10 photos, attached as unpublished photos.
 * - Instagram (Graph API content publishing): a caption of 2,200 characters with at most 30 hashtags,
 *   and exactly one image (carousels are not built yet); a link in a caption is not clickable.
 * - LinkedIn (Posts API): commentary of 3,000 characters; a link becomes an article; images need
 *   LinkedIn's image upload, not built yet.
 */
export interface PlatformLimits {
  name: string;
  maxCharacters: number;
  /** How characters are counted: X's weighted length, or plain code points. */
  counting: 'x-weighted' | 'characters';
  minImages: number;
  maxImages: number;
  maxHashtags?: number;
}

export const LIMITS: Record<SocialPlatform, PlatformLimits> = {
  x: { name: 'X', maxCharacters: 280, counting: 'x-weighted', minImages: 0, maxImages: 0 },
  facebook: { name: 'Facebook Page', maxCharacters: 63_206, counting: 'characters', minImages: 0, maxImages: 10 },
  instagram: { name: 'Instagram', maxCharacters: 2_200, counting: 'characters', minImages: 1, maxImages: 1, maxHashtags: 30 },
  linkedin: { name: 'LinkedIn', maxCharacters: 3_000, counting: 'characters', minImages: 0, maxImages: 0 },
};

/** The text as the platform receives it: X and Instagram get the link in the text; Facebook and LinkedIn take it apart. */
export function textFor(platform: SocialPlatform, body: string, link: string | null | undefined): string {
  if (!link || platform === 'facebook' || platform === 'linkedin') return body;
  return body ? `${body} ${link}` : link;
}

/** The length the platform counts for this text. */
export function lengthOf(platform: SocialPlatform, text: string): number {
  return LIMITS[platform].counting === 'x-weighted' ? twitter.parseTweet(text).weightedLength : [...text].length;
}

export interface PostProblem {
  path: string;
  message: string;
}

/** Why the post would be refused by the platform (empty when it fits). */
export function checkPost(platform: SocialPlatform, post: { body: string; link?: string | null; imageUrls: string[] }): PostProblem[] {
  const l = LIMITS[platform];
  const problems: PostProblem[] = [];
  const text = textFor(platform, post.body, post.link);
  const length = lengthOf(platform, text);
  if (!text.trim() && post.imageUrls.length === 0) problems.push({ path: 'body', message: 'A post needs text, a link or an image' });
  if (length > l.maxCharacters) {
    const how = l.counting === 'x-weighted' ? ' as X counts them (links count 23, emoji and CJK characters 2)' : '';
    problems.push({ path: 'body', message: `${l.name} allows ${l.maxCharacters} characters${how}; this post has ${length}` });
  }
  if (post.imageUrls.length > l.maxImages) {
    problems.push({ path: 'imageUrls', message: l.maxImages === 0 ? `Images are not supported for ${l.name} posts yet` : `${l.name} allows at most ${l.maxImages} image(s)` });
  }
  if (post.imageUrls.length < l.minImages) problems.push({ path: 'imageUrls', message: `${l.name} posts need ${l.minImages} image` });
  if (l.maxHashtags !== undefined) {
    const tags = text.match(/(^|\s)#[\p{L}\p{N}_]+/gu)?.length ?? 0;
    if (tags > l.maxHashtags) problems.push({ path: 'body', message: `${l.name} allows at most ${l.maxHashtags} hashtags; this post has ${tags}` });
  }
  return problems;
}
