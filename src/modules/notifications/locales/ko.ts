/** notifications: Korean messages (the default language). */
import type { Catalog } from '../../../core/i18n.js';

export const ko = {
  notifications: {
    title: '알림',
    bell: '알림',
    unread: '안 읽은 알림 {{count}}개',
    empty: '아직 알림이 없어요.',
    markRead: '읽음',
    markAllRead: '모두 읽음으로 표시',
    more: '더 보기',
    isUnread: '새 알림',
    raise: '다시 입찰하기',
    settings: '알림 설정',
    kinds: {
      outbid: '"{{title}}" 경매에서 누군가 더 높게 입찰했어요. 현재가 {{price}}',
      ending: '"{{title}}" 경매가 1시간 안에 끝나요. 현재가 {{price}}',
      won: '축하해요! "{{title}}" 경매에서 {{price}}에 낙찰받았어요.',
      sold: '"{{title}}" 상품이 {{price}}에 팔렸어요.',
      unsold: '"{{title}}" 경매가 낙찰 없이 끝났어요.',
      alert: '"{{query}}" 검색 알림: 새 상품 "{{title}}"',
      question: '"{{title}}" 상품에 새 질문이 있어요: {{excerpt}}',
      answer: '"{{title}}" 상품에 남긴 질문에 판매자가 답했어요: {{excerpt}}',
      cancelled: '입찰한 "{{title}}" 경매가 운영 정책에 따라 취소됐어요. 묶여 있던 포인트는 모두 돌려드렸어요.',
      warning: '운영진의 경고: {{excerpt}} 계속되면 이용이 정지될 수 있어요.',
      // second-chance offers (orders)
      offer:
        '"{{title}}" 판매자가 회원님의 최고 입찰가 {{price}}에 팔겠다고 제안했어요. 기한 안에 수락하거나 거절해 주세요.',
      offerAccepted: '"{{title}}" 차순위 제안이 {{price}}에 수락됐어요. 구매자의 배송 정보를 기다려요.',
      offerClosed: '"{{title}}" 차순위 제안이 수락되지 않았어요. (거절 또는 기한 만료)',
    },
    kindNames: {
      outbid: '더 높은 입찰',
      ending: '마감 1시간 전',
      won: '낙찰',
      sold: '판매 완료',
      unsold: '유찰',
      alert: '검색 알림',
      question: '내 상품에 온 질문',
      answer: '내 질문의 답변',
      cancelled: '취소된 경매',
      warning: '운영진 경고',
      // second-chance offers (orders)
      offer: '차순위 구매 제안',
      offerAccepted: '차순위 제안 수락',
      offerClosed: '차순위 제안 거절·만료',
    },
    prefs: {
      title: '알림 설정',
      intro: '어떤 알림을 이메일로도 받을지 고르세요. 사이트 안의 알림함에는 모두 와요.',
      email: '이메일로 받기',
      digest: '하루 한 번 모아서 받기 (요약 메일)',
      unsubscribed: '이메일 알림을 모두 끈 상태예요. 아래에서 다시 고르고 저장하면 다시 받아요.',
      save: '저장',
      saved: '알림 설정을 저장했어요.',
    },
    unsubscribe: {
      title: '이메일 알림 끄기',
      confirm: '{{email}} 주소로 가는 다판다 알림 메일을 모두 끌까요?',
      button: '메일 알림 끄기',
      done: '이메일 알림을 껐어요. 사이트 안의 알림함은 그대로 써요.',
      invalid: '알림 끄기 링크가 올바르지 않아요.',
    },
    mail: {
      subject: '[다판다] {{message}}',
      open: '자세히 보기',
      footer: '이 메일은 다판다 알림 설정에 따라 보냈어요.',
      unsubscribe: '메일 알림 끄기',
      settings: '알림 설정 바꾸기',
      digestSubject: '[다판다] 오늘의 알림 {{count}}개',
      digestIntro: '지난 하루 동안의 알림이에요.',
    },
    alerts: {
      title: '검색 알림',
      save: '이 검색 알림 받기',
      saved: '검색 알림을 저장했어요. 맞는 새 상품이 올라오면 알려 드려요.',
      already: '이미 저장한 검색이에요.',
      limit: '검색 알림은 {{max}}개까지 저장할 수 있어요.',
      empty: '저장한 검색 알림이 없어요. 검색 결과 화면에서 "이 검색 알림 받기"를 눌러 보세요.',
      delete: '삭제',
      deleted: '검색 알림을 지웠어요.',
      allListings: '(모든 새 상품)',
    },
  },
};

export type Messages = Catalog<typeof ko>;
