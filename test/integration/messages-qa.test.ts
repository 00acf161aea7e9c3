/**
 * Listing Q&A: asking (logged in, not the seller), answering (the seller only; anyone else's
 * question id is a 404), who sees what (answered: everyone, asker masked; unanswered: asker and
 * seller only), plain text escaped, 500 characters, rate limited; the seller and the asker are
 * notified once each.
 */
import t from 'tap';
import { startApp } from '../helpers/app.js';
import { user, auction, loggedIn, waitFor } from '../helpers/auction.js';

t.test('ask, answer, visibility, escaping and notifications', async (t) => {
  const { app, config } = await startApp(t);
  const seller = await user(app, config, 0, 'seller');
  const asker = await user(app, config, 0, 'asker');
  const stranger = await user(app, config, 0, 'other');
  const id = await auction(app, { sellerId: seller.id, endsInMs: 3 * 3600_000, title: '질문 받는 카메라' });
  const ca = await loggedIn(app, asker.email);
  const cs = await loggedIn(app, seller.email);
  const cx = await loggedIn(app, stranger.email);

  const page = await ca.get(`/items/${id}`);
  t.match(page.body, '궁금한 점 물어보세요!');
  t.match(page.body, 'data-testid="ask-form"');
  const evil = '<script>alert(1)</script> 렌즈 상태는요?';
  const asked = await ca.post(`/items/${id}/questions`, { body: evil });
  t.equal(asked.statusCode, 303);
  t.equal(asked.headers.location, `/items/${id}#questions`);
  const q = await app.db.listingQuestion.findFirstOrThrow({ where: { listingId: id } });

  const mine = await ca.get(`/items/${id}`);
  t.match(mine.body, '&lt;script&gt;alert(1)&lt;/script&gt; 렌즈 상태는요?', 'the asker sees it, escaped');
  t.notMatch(mine.body, '<script>alert(1)</script>');
  t.match(mine.body, '답변 대기 중');
  t.match((await cs.get(`/items/${id}`)).body, '렌즈 상태는요?', 'the seller sees it');
  t.match((await cs.get(`/items/${id}`)).body, `action="/questions/${q.id}/answer"`, 'with an answer form');
  t.notMatch((await cx.get(`/items/${id}`)).body, '렌즈 상태는요?', 'unanswered: hidden from others');
  t.notMatch((await app.inject({ url: `/items/${id}` })).body, '렌즈 상태는요?', 'and from visitors');

  t.ok(
    await waitFor(
      async () => (await app.db.notification.count({ where: { userId: seller.id, kind: 'question' } })) === 1,
    ),
    'the seller is notified',
  );

  // Only the seller answers; anyone else gets a 404 and nothing changes.
  t.equal((await cx.post(`/questions/${q.id}/answer`, { answer: '제가 답할게요' })).statusCode, 404);
  t.equal((await ca.post(`/questions/${q.id}/answer`, { answer: '셀프 답변' })).statusCode, 404);
  t.equal((await cs.post(`/questions/999999999/answer`, { answer: 'x' })).statusCode, 404);
  t.equal((await app.db.listingQuestion.findUniqueOrThrow({ where: { id: q.id } })).answer, null);
  const answered = await cs.post(`/questions/${q.id}/answer`, { answer: '<b>깨끗해요</b>' });
  t.equal(answered.statusCode, 303);
  t.equal((await cs.post(`/questions/${q.id}/answer`, { answer: '두 번' })).statusCode, 422, 'answered once');

  const pub = (await app.inject({ url: `/items/${id}` })).body;
  t.match(pub, '렌즈 상태는요?', 'answered: public');
  t.match(pub, '&lt;b&gt;깨끗해요&lt;/b&gt;');
  const nick = asker.nickname;
  t.match(pub, `${nick[0]}***${nick[nick.length - 1]}`, 'the asker masked');
  t.notMatch(pub, nick, 'never the full nickname');
  t.ok(
    await waitFor(async () => (await app.db.notification.count({ where: { userId: asker.id, kind: 'answer' } })) === 1),
    'the asker is notified of the answer',
  );
  const inbox = await ca.get('/notifications');
  t.match(inbox.body, '판매자가 답했어요: &lt;b&gt;깨끗해요&lt;/b&gt;', 'escaped in the inbox too');
  t.equal(await app.db.notification.count({ where: { userId: seller.id } }), 1, 'one for the seller');
});

t.test('limits: logged in, not the seller, 500 characters, rate limit', async (t) => {
  const { app, config } = await startApp(t);
  const seller = await user(app, config);
  const asker = await user(app, config);
  const id = await auction(app, { sellerId: seller.id, endsInMs: 3 * 3600_000 });
  const anon = await app.inject({
    method: 'POST',
    url: `/items/${id}/questions`,
    payload: 'body=hi',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  t.ok([303, 403].includes(anon.statusCode), 'a visitor cannot ask');
  const cs = await loggedIn(app, seller.email);
  await cs.get(`/items/${id}`);
  t.equal((await cs.post(`/items/${id}/questions`, { body: '내 상품' })).statusCode, 422, 'not on the own listing');
  const ca = await loggedIn(app, asker.email);
  await ca.get(`/items/${id}`);
  const long = await ca.post(`/items/${id}/questions`, { body: '가'.repeat(10_000) });
  t.equal(long.statusCode, 422, '10,000 characters refused');
  t.match(long.body, '500자까지 쓸 수 있어요. (지금 10000자)');
  t.equal((await ca.post(`/items/${id}/questions`, { body: '   ' })).statusCode, 422, 'empty refused');
  t.equal((await ca.post(`/items/999999999/questions`, { body: '없는 상품' })).statusCode, 404);
  t.equal(await app.db.listingQuestion.count({ where: { listingId: id } }), 0, 'nothing stored');
  t.equal((await ca.post(`/items/${id}/questions`, { body: '가'.repeat(500) })).statusCode, 303, '500 is fine');
  let limited = false;
  for (let i = 0; i < 8 && !limited; i++)
    limited = (await ca.post(`/items/${id}/questions`, { body: `질문 ${i}` })).statusCode === 429;
  t.ok(limited, 'rate limited');
  t.ok((await app.db.listingQuestion.count({ where: { listingId: id } })) <= 5);
});
