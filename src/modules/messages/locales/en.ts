/** messages: English messages, typed against the Korean ones. */
import type { Messages } from './ko.js';

export const en: Messages = {
  messages: {
    qa: {
      title: 'Questions about this item',
      intro: 'Ask the seller anything! Once answered, the question and answer are shown to everyone.',
      placeholder: 'What would you like to know about this item? (up to {{max}} characters)',
      ask: 'Ask',
      loginToAsk: 'Log in to ask',
      asked: 'Question sent. We will tell you when the seller answers.',
      answered: 'Answer posted.',
      answer: 'Answer',
      answerPlaceholder: 'Your answer (up to {{max}} characters)',
      answerButton: 'Answer',
      waiting: 'Waiting for an answer (only you and the seller see this)',
      report: 'Report',
      mine: 'My question',
      empty: 'No public questions yet.',
      seller: 'Seller',
      errors: {
        empty: 'Please write something.',
        tooLong: 'Up to {{max}} characters (this has {{length}}).',
        ownListing: 'You cannot ask about your own item.',
        alreadyAnswered: 'This question has already been answered.',
      },
    },
  },
};
