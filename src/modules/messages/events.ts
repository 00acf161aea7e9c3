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
