import { ApiFailure } from './api.js';
import { isMessageKey, t, type MessageKey } from './i18n.js';

const BY_CODE: Record<string, MessageKey> = {
  network: 'error.network',
  forbidden: 'error.forbidden',
  'not-found': 'error.notFound',
  conflict: 'error.conflict',
  'invalid-room': 'error.invalidRoom',
  'rate-limited': 'error.rateLimited',
  'not-in-conference': 'error.notInConference',
  listener: 'error.listener',
  'refused-by-jitsi': 'error.refusedByJitsi',
  'media-refused': 'error.mediaRefused',
  invalid: 'error.invalid',
};

/** What went wrong, in the reader's language, and the field it belongs to; never a raw code. */
export function describeError(error: unknown): { text: string; field?: string } {
  if (!(error instanceof ApiFailure)) return { text: t('error.unknown') };
  const fieldKey = `error.field.${error.field ?? ''}`;
  if (error.field !== undefined && isMessageKey(fieldKey)) return { text: t(fieldKey), field: error.field };
  const text = t(BY_CODE[error.code] ?? 'error.unknown');
  return error.code === 'invalid-room' ? { text, field: 'room' } : { text };
}
