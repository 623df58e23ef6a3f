import type { Session, Settings } from './api.js';

/** One page of the console; `dispose` stops what it keeps running (polling) when the reader leaves. */
export interface View {
  title: string;
  element: HTMLElement;
  dispose?: () => void;
}

export interface ConsoleContext {
  session: Session;
  settings: Settings;
  /** Viewers read; admin and clerk change things. The API refuses a viewer's write anyway. */
  canWrite: boolean;
}

export const roomHref = (room: string) => `#/rooms/${encodeURIComponent(room)}`;
