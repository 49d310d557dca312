// gRPC Check answers are encoded once per distinct JSON text, and bounded.
import { describe, expect, it } from 'vitest';
import { EncodedAnswers, passEncoded } from '../../src/api/grpc/check-answer.js';

function counting() {
  const calls: unknown[] = [];
  const encode = (value: object) => {
    calls.push(value);
    return Buffer.from(JSON.stringify(value));
  };
  return { calls, answers: new EncodedAnswers(encode) };
}

describe('EncodedAnswers', () => {
  it('encodes a text once, whether the same string or an equal one comes back', () => {
    const { calls, answers } = counting();
    const json = '{"passed":true,"missing_permissions":[]}';
    const first = answers.of(json);
    expect(answers.of(json)).toBe(first);
    expect(answers.of(JSON.parse(JSON.stringify(json)) as string)).toBe(first);
    expect(calls).toEqual([{ passed: true, missing_permissions: [] }]);
  });

  it('keeps different answers apart', () => {
    const { answers } = counting();
    const a = '{"passed":true,"missing_permissions":[]}';
    const b = '{"passed":false,"missing_permissions":[{"resource_uri":"/a","missing_permissions":["read"]}]}';
    expect(answers.of(a).toString()).toBe(a);
    expect(answers.of(b).toString()).toBe(b);
    expect(answers.of(a).toString()).toBe(a);
  });

  it('drops what it holds past its budget of characters', () => {
    const { calls, answers } = counting();
    const big = (n: number) => JSON.stringify({ passed: false, missing_permissions: [{ resource_uri: `/${'x'.repeat(3 * 1024 * 1024)}${n}`, missing_permissions: ['r'] }] });
    const [one, two, three] = [big(1), big(2), big(3)];
    answers.of(one);
    answers.of(two);
    answers.of(three); // 9 M characters > 8 M: the first two are dropped
    answers.of(three);
    answers.of(one);
    expect(calls).toHaveLength(4);
  });
});

describe('passEncoded', () => {
  it('lets bytes through and serializes anything else', () => {
    const serialize = passEncoded((value) => Buffer.from(JSON.stringify(value)));
    const bytes = Buffer.from([1, 2, 3]);
    expect(serialize(bytes)).toBe(bytes);
    expect(serialize({ a: 1 }).toString()).toBe('{"a":1}');
  });
});
