/** The refusals other modules catch by class (exported through index.ts). */
import { AppError } from '../../core/errors.js';

/** Not enough available points for a hold, an escrow or a withdrawal. The message is the user's. */
export class InsufficientFunds extends AppError {
  constructor(
    readonly available: number,
    readonly needed: number,
    messageKey = 'wallet.errors.insufficient',
    params: Record<string, unknown> = { available, needed },
  ) {
    super(409, messageKey, params, 'INSUFFICIENT_FUNDS');
    this.name = 'InsufficientFunds';
  }
}
