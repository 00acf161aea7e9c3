/** mypage: Korean messages (the default language). */
import type { Catalog } from '../../../core/i18n.js';

export const ko = {
  mypage: {
    title: '마이페이지',
    hello: '{{nickname}}님, 안녕하세요',
    joined: '가입일',
    buy: '구매',
    bidding: '입찰 중',
    biddingDetail: '최고 {{leading}} · 추월 {{outbid}}',
    won: '낙찰',
    purchases: '구매 내역',
    sell: '판매',
    selling: '판매 중',
    sellingDetail: '시작 예정 {{scheduled}}',
    sold: '판매 완료',
    soldDetail: '유찰 {{unsold}}',
    settlements: '정산',
    watch: '관심',
    watchlist: '관심 상품',
    points: '포인트',
    available: '사용 가능',
    held: '입찰 보류',
    escrow: '결제 보관',
    wallet: '포인트 내역',
    addresses: '주소록',
    addressesSoon: '주문 기능과 함께 열려요',
    profile: '프로필',
    profileLink: '내 정보 보기',
    profileEdit: '프로필 수정',
    passwordChange: '비밀번호 변경',
    accountDelete: '회원 탈퇴',
    sellNew: '상품 등록하기',
    orders: '주문',
    ordersBuying: '구매 주문',
    ordersSelling: '판매 주문',
    nextActions: '할 일',
    noNextActions: '지금 할 일이 없어요.',
    count: '{{count}}건',
  },
};

export type Messages = Catalog<typeof ko>;
