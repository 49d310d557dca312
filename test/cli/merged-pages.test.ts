// `--json` lists: every page merged into one list-shaped document.
import { describe, expect, it } from 'vitest';
import { mergedPages } from '../../src/cli/context.js';
import { pages, type PageRequest } from '../../src/client/pages.js';

describe('mergedPages', () => {
  it('asks page after page (at the maximum page size) and returns one document with an empty next_page_token', async () => {
    const asked: PageRequest[] = [];
    const list = pages<number, { n: number[]; next_page_token: string; total_items: number }>('n', {}, async (paging) => {
      asked.push(paging);
      const start = paging.page_token === undefined ? 0 : Number(paging.page_token);
      return { n: [start, start + 1], next_page_token: start < 4 ? String(start + 2) : '', total_items: 6 };
    });
    expect(await mergedPages(list, 'n')).toEqual({ n: [0, 1, 2, 3, 4, 5], next_page_token: '', total_items: 6 });
    expect(asked).toEqual([{ page_size: 1000 }, { page_size: 1000, page_token: '2' }, { page_size: 1000, page_token: '4' }]);
    const items: number[] = [];
    for await (const x of list) items.push(x);
    expect(items).toEqual([0, 1, 2, 3, 4, 5]);
  });
});
