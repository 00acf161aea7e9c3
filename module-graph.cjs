/**
 * The allowed module graph: which module may import which other module's index.ts. It is the
 * one source for the import rules (.dependency-cruiser.cjs), the template and schema checks
 * (scripts/boundaries.ts) and docs/architecture.md. A module that is not listed here may not
 * import or be imported by any module: give a new module its line first.
 *   uses: the modules it may depend on ('*': every module except the `leaf` ones)
 *   leaf: nobody may import it (it reacts to everyone through events, or is a shell over all)
 */
module.exports = {
  accounts: { uses: [] },
  catalog: { uses: ['accounts'] },
  wallet: { uses: ['accounts'] },
  bidding: { uses: ['catalog', 'wallet', 'accounts'] },
  orders: { uses: ['bidding', 'wallet', 'catalog', 'accounts'] },
  messages: { uses: ['orders', 'accounts', 'catalog'] },
  moderation: { uses: ['bidding', 'catalog', 'accounts'] },
  notifications: { uses: '*', leaf: true },
  admin: { uses: '*', leaf: true },
  mypage: { uses: '*', leaf: true },
  ops: { uses: [] },
  site: { uses: [] },
};
