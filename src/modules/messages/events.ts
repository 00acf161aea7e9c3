/**
 * The events messages emits, durable (written in the transaction that stores the question or
 * answer): the notifications module tells the seller / the asker, and a lost one would be a
 * question nobody hears of.
 */
import { domainEvent } from '../../core/events.js';

export type QuestionAsked = {
  questionId: number;
  listingId: number;
  askerId: number;
  sellerId: number;
  /** The start of the question (plain text). */
  excerpt: string;
};
export type QuestionAnswered = QuestionAsked;

declare module '../../core/events.js' {
  interface DomainEvents {
    'question.asked': QuestionAsked;
    'question.answered': QuestionAnswered;
  }
  interface DurableEvents {
    'question.asked': true;
    'question.answered': true;
  }
}

export const EXCERPT = 80;
const excerpt = (s: string) => ([...s].length > EXCERPT ? [...s].slice(0, EXCERPT - 1).join('') + '…' : s);

export const questionAsked = (q: { id: number; listingId: number; askerId: number; sellerId: number; body: string }) =>
  domainEvent('question.asked', {
    questionId: q.id,
    listingId: q.listingId,
    askerId: q.askerId,
    sellerId: q.sellerId,
    excerpt: excerpt(q.body),
  });
export const questionAnswered = (q: {
  id: number;
  listingId: number;
  askerId: number;
  sellerId: number;
  answer: string;
}) =>
  domainEvent('question.answered', {
    questionId: q.id,
    listingId: q.listingId,
    askerId: q.askerId,
    sellerId: q.sellerId,
    excerpt: excerpt(q.answer),
  });

// ── order chat ──

/** A party wrote in an order's chat (durable: the notifications module tells the other side). */
export type ChatMessagePosted = {
  messageId: number;
  orderId: number;
  listingId: number;
  senderId: number;
  recipientId: number;
  excerpt: string;
};
/** An order's chat changed (a new line, or someone read up to a line): every instance pushes it to its sockets. */
export type ChatChanged = {
  orderId: number;
  /** The new line (null: only a read position moved). */
  messageId: number | null;
  /** Who read (with `upTo`), for the other side's read receipt. */
  readerId: number | null;
  upTo: number | null;
  /** The read came from opening the chat (a page), not from a tab that showed a pushed line. */
  opened: boolean;
};

declare module '../../core/events.js' {
  interface DomainEvents {
    'chat.message_posted': ChatMessagePosted;
    'chat.changed': ChatChanged;
  }
  interface DurableEvents {
    'chat.message_posted': true;
  }
}

export const chatMessagePosted = (m: Omit<ChatMessagePosted, 'excerpt'> & { body: string }) =>
  domainEvent('chat.message_posted', {
    messageId: m.messageId,
    orderId: m.orderId,
    listingId: m.listingId,
    senderId: m.senderId,
    recipientId: m.recipientId,
    excerpt: excerpt(m.body),
  });
export const chatChanged = (c: ChatChanged) => domainEvent('chat.changed', c);
