/** site: English texts, typed against the Korean ones (a missing key fails the typecheck). */
import type { Messages } from './ko.js';

export const en: Messages = {
  sitePages: {
    footerNav: 'Service information',
    business: 'Company',
    ceo: 'CEO',
    registrationNo: 'Business registration no.',
    mailOrderNo: 'Mail-order business report no.',
    address: 'Address',
    support: 'Customer service',
    version: 'Effective',
    terms: {
      title: 'Terms of service',
      description: 'DAPANDA terms of service: members, auctions, bids, escrow payment and fees.',
      p1: 'Article 1 (Purpose) These terms set the conditions of the second-hand auction service DAPANDA ("the company") provides.',
      p2: 'Article 2 (Bids are binding) A bid is an offer to buy that cannot be withdrawn. The highest bidder at the close must buy at the final price.',
      p3: 'Article 3 (Escrow) The company holds the payment and releases it to the seller once the buyer confirms receipt.',
      p4: 'Article 4 (Fees) Each withdrawal carries a fee, shown on the help page.',
    },
    privacy: {
      title: 'Privacy policy',
      description: 'What personal data DAPANDA collects, why, how long it is kept and how it is erased.',
      p1: 'Collected: e-mail, nickname, password (hashed), trade records, access logs.',
      p2: 'Purposes: identifying members, processing auctions, payments and payouts, preventing abuse, answering enquiries.',
      p3: 'Retention: erased without delay when you delete your account; contract and payment records are kept anonymised for 5 years as the e-commerce act requires.',
      p4: 'You may ask to see, correct or delete your data at any time.',
    },
    help: {
      title: 'Help',
      description:
        'How DAPANDA auctions work: bids, automatic bidding up to your maximum, increments, soft close, escrow and fees.',
      bidding: 'Bidding',
      biddingBody:
        'Bids cannot be withdrawn. Set a maximum and the site bids for you, only as much as needed each time someone else bids. The minimum increment depends on the current price.',
      softClose: 'Soft close',
      softCloseBody:
        'A bid in the last few minutes pushes the end time back, so an auction is not won by a last-second bid.',
      escrow: 'Escrow',
      escrowBody:
        'Bidding holds points up to your maximum; when you win, DAPANDA holds the payment and pays the seller once you confirm you received the item.',
      fees: 'Fees',
      feesBody: 'Top-ups and bids are free. Withdrawing points to a bank account has a fee per withdrawal.',
    },
  },
};
