/** messages: Korean messages (the default language). */
import type { Catalog } from '../../../core/i18n.js';

export const ko = {
  messages: {
    chat: {
      title: '거래 채팅',
      intro: '구매자와 판매자만 보는 대화예요. 분쟁이 생기면 관리자가 읽을 수 있어요.',
      with: '{{name}} 님과의 대화',
      empty: '아직 메시지가 없어요.',
      label: '메시지',
      placeholder: '메시지를 입력하세요. (최대 {{max}}자, 글자만)',
      safety: '다판다 밖에서 입금하거나 연락처를 주고받으면 거래 보호를 받을 수 없어요.',
      send: '보내기',
      sent: '메시지를 보냈어요.',
      older: '이전 메시지 더 보기',
      allLines: '채팅 전체 보기',
      unread: '안 읽은 메시지 {{count}}개',
      unreadTotal: '안 읽은 메시지 {{lines}}개 · 거래 {{chats}}건',
      noneUnread: '안 읽은 채팅 메시지가 없어요.',
      receipt: '상대방이 읽음:',
      report: '신고',
      adminRead: '관리자가 분쟁 처리를 위해 이 대화를 읽었어요',
      adminNote: '분쟁 중인 주문의 대화예요. 읽으면 양쪽에 "관리자가 읽었어요"가 보여요.',
      backToOrder: '주문으로 돌아가기',
      backToDisputes: '분쟁 목록으로',
      warning:
        '전화번호나 계좌번호가 있어요. 다판다 밖에서 돈을 보내면 사기를 당해도 돌려받기 어려워요. 결제는 다판다 안에서만 하세요.',
      errors: {
        empty: '메시지를 입력해 주세요.',
        tooLong: '메시지는 {{max}}자까지 쓸 수 있어요. (지금 {{length}}자)',
        tooFast: '메시지를 너무 빨리 보내고 있어요. 1분에 {{max}}개까지 보낼 수 있어요. 잠시 뒤에 다시 보내 주세요.',
      },
    },
    hidden: '운영 정책에 따라 숨겨진 내용이에요.',
    qa: {
      title: '상품 문의',
      intro: '궁금한 점 물어보세요! 판매자가 답하면 답변과 함께 모두에게 보여요.',
      placeholder: '상품에 대해 궁금한 점을 적어 주세요. (최대 {{max}}자)',
      ask: '질문하기',
      loginToAsk: '로그인하고 질문하기',
      asked: '질문을 남겼어요. 판매자가 답하면 알려 드려요.',
      answered: '답변을 남겼어요.',
      answer: '답변',
      answerPlaceholder: '답변을 적어 주세요. (최대 {{max}}자)',
      answerButton: '답변하기',
      waiting: '답변 대기 중 (질문한 분과 판매자에게만 보여요)',
      mine: '내 질문',
      report: '신고',
      empty: '아직 공개된 문의가 없어요.',
      seller: '판매자',
      errors: {
        empty: '내용을 입력해 주세요.',
        tooLong: '{{max}}자까지 쓸 수 있어요. (지금 {{length}}자)',
        ownListing: '내 상품에는 질문할 수 없어요.',
        alreadyAnswered: '이미 답변한 질문이에요.',
      },
    },
  },
};

export type Messages = Catalog<typeof ko>;
