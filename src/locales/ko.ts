/** Korean messages shared by every page (the layout, errors). Each module keeps its own in src/modules/<name>/locales/. */
import type { Catalog } from '../core/i18n.js';

export const ko = {
  site: {
    name: '다판다',
    tagline: '중고거래, 이제 경매로. 흥정 없이, 노쇼 없이.',
    searchPlaceholder: '어떤 물건을 찾으세요?',
    search: '검색',
    language: '언어',
    langKo: '한국어',
    langEn: 'English',
    login: '로그인',
    signup: '회원가입',
    logout: '로그아웃',
    mypage: '마이페이지',
    me: '내 정보',
    skipToContent: '본문 바로가기',
    admin: '관리',
    adminNav: '관리 메뉴',
    footer: '다판다 · 믿을 수 있는 중고 경매',
    home: '홈',
    searchLandmark: '사이트 검색',
    accountNav: '계정',
  },
  maintenance: {
    banner:
      '서비스 이전 작업 중이에요. 둘러보기는 되지만 입찰·등록·결제는 잠시 멈췄어요. 멈춘 시간만큼 경매 마감이 늦춰져요.',
    paused:
      '서비스 이전 작업 중이라 입찰·등록·결제를 잠시 멈췄어요. 곧 다시 열려요. 멈춘 시간만큼 경매 마감이 늦춰져요.',
  },
  errors: {
    title: '문제가 발생했어요',
    notFoundTitle: '페이지를 찾을 수 없어요',
    notFoundBody: '주소가 바뀌었거나 삭제된 페이지예요.',
    serverTitle: '잠시 문제가 생겼어요',
    serverBody: '요청을 처리하지 못했어요. 잠시 후 다시 시도해 주세요.',
    csrf: '보안 토큰이 만료되었어요. 페이지를 새로고침한 뒤 다시 시도해 주세요.',
    rateLimited: '요청이 너무 많아요. 잠시 후 다시 시도해 주세요.',
    validation: '입력값을 확인해 주세요.',
    unavailable: '서비스가 잠시 혼잡해요. 잠시 후 다시 시도해 주세요.',
    backHome: '홈으로',
    requestId: '요청 번호',
  },
  // Refused input (core/input.ts, cursors, uploads): a clear 400 instead of an error page.
  guard: {
    badCharacters: '입력에 사용할 수 없는 문자(NUL)가 들어 있어요. 지우고 다시 시도해 주세요.',
    badCursor: '페이지 주소가 올바르지 않아요. 처음 페이지부터 다시 열어 주세요.',
    badUpload: '업로드가 중간에 끊겼거나 형식이 올바르지 않아요. 다시 시도해 주세요.',
  },
};

export type Messages = Catalog<typeof ko>;
