import type { FalcoAlert } from '../alert/falco-alert.js';
import type { PriorityLevel } from '../alert/priority.js';

/** One alert ready for delivery: the alert and its rendered line (JSON or text, no newline). */
export interface OutputItem {
  alert: FalcoAlert;
  line: string;
  priority: PriorityLevel;
}

/**
 * An alert channel (stdout, file, program, http, syslog). The outputs queue hands
 * each channel batches of items in order; a channel resolves once the batch is
 * delivered (or throws, which the queue counts as an error for that channel).
 */
export interface Channel {
  readonly name: string;
  send(items: readonly OutputItem[]): Promise<void>;
  /** Reopen files / children (SIGUSR1, log rotation). */
  reopen?(): void;
  /** Flush and release resources. */
  close(): Promise<void>;
}
