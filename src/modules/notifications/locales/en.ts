/** notifications: English messages, typed against the Korean ones. */
import type { Messages } from './ko.js';

export const en: Messages = {
  notifications: {
    title: 'Notifications',
    bell: 'Notifications',
    unread: '{{count}} unread',
    empty: 'No notifications yet.',
    markRead: 'Mark read',
    markAllRead: 'Mark all as read',
    more: 'More',
    isUnread: 'New',
    raise: 'Bid again',
    settings: 'Notification settings',
    kinds: {
      outbid: 'You were outbid on "{{title}}". Current price {{price}}',
      ending: '"{{title}}" ends within an hour. Current price {{price}}',
      won: 'Congratulations! You won "{{title}}" for {{price}}.',
      sold: 'Your item "{{title}}" sold for {{price}}.',
      unsold: 'Your auction "{{title}}" ended without a sale.',
      alert: 'Saved search "{{query}}": new listing "{{title}}"',
      question: 'New question on "{{title}}": {{excerpt}}',
      answer: 'The seller answered your question on "{{title}}": {{excerpt}}',
      cancelled:
        'The auction "{{title}}" you bid on was cancelled under our rules. Every point it held is yours again.',
      warning: 'A warning from our staff: {{excerpt}} If it goes on, your account may be suspended.',
      // second-chance offers (orders)
      offer:
        'The seller of "{{title}}" offers it to you at your highest maximum, {{price}}. Please accept or decline before it expires.',
      offerAccepted:
        'Your second-chance offer for "{{title}}" was accepted at {{price}}. Waiting for the buyer\'s shipping details.',
      offerClosed: 'Your second-chance offer for "{{title}}" was not accepted (declined or expired).',
    },
    kindNames: {
      outbid: 'Outbid',
      ending: 'Ending within an hour',
      won: 'Won',
      sold: 'Sold',
      unsold: 'Not sold',
      alert: 'Saved searches',
      question: 'Questions on my items',
      answer: 'Answers to my questions',
      cancelled: 'Cancelled auctions',
      warning: 'Warnings from staff',
      // second-chance offers (orders)
      offer: 'Second-chance offers',
      offerAccepted: 'Second-chance offer accepted',
      offerClosed: 'Second-chance offer declined or expired',
    },
    prefs: {
      title: 'Notification settings',
      intro: 'Choose which notifications also come by e-mail. Your inbox on the site gets all of them.',
      email: 'By e-mail',
      digest: 'Once a day, all together (digest)',
      unsubscribed: 'E-mail notifications are off. Choose below and save to get them again.',
      save: 'Save',
      saved: 'Notification settings saved.',
    },
    unsubscribe: {
      title: 'Stop notification e-mails',
      confirm: 'Stop all DAPANDA notification e-mails to {{email}}?',
      button: 'Stop e-mails',
      done: 'Notification e-mails are off. Your inbox on the site stays.',
      invalid: 'This unsubscribe link is not valid.',
    },
    mail: {
      subject: '[DAPANDA] {{message}}',
      open: 'Open',
      footer: 'You get this e-mail because of your DAPANDA notification settings.',
      unsubscribe: 'Stop notification e-mails',
      settings: 'Change notification settings',
      digestSubject: '[DAPANDA] {{count}} notifications today',
      digestIntro: 'Your notifications of the last day.',
    },
    alerts: {
      title: 'Saved searches',
      save: 'Notify me about this search',
      saved: 'Search saved. We will tell you when a new listing matches.',
      already: 'You already saved this search.',
      limit: 'You can save up to {{max}} searches.',
      empty: 'No saved searches. On a search result page, press "Notify me about this search".',
      delete: 'Delete',
      deleted: 'Saved search deleted.',
      allListings: '(all new listings)',
    },
  },
};
