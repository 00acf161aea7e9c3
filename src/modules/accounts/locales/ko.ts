/** accounts: Korean messages (the default language). Keys keep their group names (`accounts.…`) wherever they are used. */
import type { Catalog } from '../../../core/i18n.js';

export const ko = {
  accounts: {
    signupTitle: '회원가입',
    loginTitle: '로그인',
    email: '이메일',
    nickname: '닉네임',
    password: '비밀번호',
    passwordHint: '10자 이상',
    nicknameHint: '20자 이하, 다른 회원에게 보여요',
    submitSignup: '가입하기',
    submitLogin: '로그인',
    haveAccount: '이미 회원이신가요?',
    noAccount: '아직 회원이 아니신가요?',
    profileTitle: '내 정보',
    joined: '가입일',
    loggedOut: '로그아웃되었어요.',
    welcome: '환영해요, {{nickname}}님!',
    errors: {
      emailInvalid: '올바른 이메일 주소를 입력해 주세요.',
      emailTaken: '이미 가입된 이메일이에요.',
      passwordWeak: '비밀번호는 10자 이상이어야 해요.',
      passwordTooLong: '비밀번호는 200자 이하여야 해요.',
      nicknameRequired: '닉네임을 입력해 주세요.',
      nicknameTooLong: '닉네임은 20자 이하여야 해요.',
      nicknameInvalid: '닉네임에는 글자, 숫자, _ 와 - 만 쓸 수 있어요.',
      nicknameTaken: '이미 사용 중인 닉네임이에요.',
      badCredentials: '이메일 또는 비밀번호가 맞지 않아요.',
      tooManyAttempts: '로그인 시도가 너무 많아요. {{minutes}}분 후에 다시 시도해 주세요.',
      loginRequired: '로그인이 필요해요.',
    },
  },
};

export type Messages = Catalog<typeof ko>;
