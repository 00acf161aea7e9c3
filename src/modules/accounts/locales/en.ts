/** accounts: English messages, typed against the Korean ones (a missing key fails the typecheck). */
import type { Messages } from './ko.js';

export const en: Messages = {
  accounts: {
    signupTitle: 'Sign up',
    loginTitle: 'Log in',
    email: 'Email',
    nickname: 'Nickname',
    password: 'Password',
    passwordHint: 'At least 10 characters',
    nicknameHint: 'Up to 20 characters, shown to other members',
    submitSignup: 'Create account',
    submitLogin: 'Log in',
    haveAccount: 'Already a member?',
    noAccount: 'New to DAPANDA?',
    profileTitle: 'My account',
    joined: 'Joined',
    loggedOut: 'You have been logged out.',
    welcome: 'Welcome, {{nickname}}!',
    errors: {
      emailInvalid: 'Enter a valid email address.',
      emailTaken: 'This email is already registered.',
      passwordWeak: 'The password must be at least 10 characters.',
      passwordTooLong: 'The password must be at most 200 characters.',
      nicknameRequired: 'Enter a nickname.',
      nicknameTooLong: 'The nickname must be at most 20 characters.',
      nicknameInvalid: 'A nickname may contain letters, digits, _ and - only.',
      nicknameTaken: 'This nickname is taken.',
      badCredentials: 'The email or password is incorrect.',
      tooManyAttempts: 'Too many login attempts. Try again in {{minutes}} minutes.',
      loginRequired: 'Please log in first.',
    },
  },
};
