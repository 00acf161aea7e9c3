import type { Messages } from './ko.js';

/** English messages shared by every page, typed against the Korean ones: a missing key fails the typecheck. */
export const en: Messages = {
  site: {
    name: 'DAPANDA',
    tagline: 'Second-hand, by auction. No haggling, no no-shows.',
    searchPlaceholder: 'What are you looking for?',
    search: 'Search',
    language: 'Language',
    langKo: '한국어',
    langEn: 'English',
    login: 'Log in',
    signup: 'Sign up',
    logout: 'Log out',
    mypage: 'My page',
    me: 'My account',
    skipToContent: 'Skip to content',
    admin: 'Admin',
    adminNav: 'Admin menu',
    footer: 'DAPANDA · second-hand auctions you can trust',
    home: 'Home',
    searchLandmark: 'Site search',
    accountNav: 'Account',
  },
  maintenance: {
    banner:
      'We are moving DAPANDA to new servers. Browsing works; bidding, listing and payments are paused for a few minutes. Auction end times move by the pause.',
    paused:
      'Bidding, listing and payments are paused for a few minutes while we move to new servers. Auction end times move by the pause.',
  },
  errors: {
    title: 'Something went wrong',
    notFoundTitle: 'Page not found',
    notFoundBody: 'The address changed or the page was removed.',
    serverTitle: 'Something broke on our side',
    serverBody: 'We could not handle the request. Please try again shortly.',
    csrf: 'Your security token expired. Reload the page and try again.',
    rateLimited: 'Too many requests. Please wait a moment.',
    validation: 'Please check your input.',
    unavailable: 'The service is busy. Please try again shortly.',
    backHome: 'Home',
    requestId: 'Request id',
  },
  // Refused input (core/input.ts, cursors, uploads): a clear 400 instead of an error page.
  guard: {
    badCharacters: 'The text contains a character that cannot be used (NUL). Remove it and try again.',
    badCursor: 'This page link is not valid. Open the list again from the first page.',
    badUpload: 'The upload was cut off or is not in a form we can read. Please try again.',
  },
};
