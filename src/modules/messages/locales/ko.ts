/** messages: Korean messages (the default language). */
import type { Catalog } from '../../../core/i18n.js';

export const ko = {
  messages: {
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
