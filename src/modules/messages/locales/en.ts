/** messages: English messages, typed against the Korean ones. */
import type { Messages } from './ko.js';

export const en: Messages = {
  messages: {
    chat: {
      title: 'Order chat',
      intro: 'Only the buyer and the seller see this conversation. In a dispute an admin may read it.',
      with: 'Conversation with {{name}}',
      empty: 'No messages yet.',
      label: 'Message',
      placeholder: 'Type a message (up to {{max}} characters, text only)',
      safety: 'Paying or trading outside DAPANDA means the purchase is not protected.',
      send: 'Send',
      sent: 'Message sent.',
      older: 'Show earlier messages',
      allLines: 'Open the whole chat',
      unread: '{{count}} unread',
      receipt: 'Read by the other side:',
      report: 'Report',
      adminRead: 'An admin read this conversation to handle the dispute',
      adminNote: 'This order is disputed. Reading it shows both sides that an admin read it.',
      backToOrder: 'Back to the order',
      backToDisputes: 'Back to disputes',
      warning:
        'This message contains a phone number or a bank account. Money sent outside DAPANDA is hard to get back if it is a scam. Pay only on DAPANDA.',
      errors: {
        empty: 'Please type a message.',
        tooLong: 'A message can be at most {{max}} characters (this one has {{length}}).',
        tooFast: 'You are sending messages too quickly: at most {{max}} a minute. Please wait a moment.',
      },
    },
    hidden: 'This content was hidden under our policy.',
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
