// List-style results: an async iterable over every item of every page, plus `.page()` for one page's wire response.

/** Paging fields of a list request (SPEC §5). */
export interface PageRequest {
  page_size?: number;
  page_token?: string;
}

/** Every item of every page (`for await`), or one page's wire response with {@link PageIterable.page}. */
export interface PageIterable<Item, Page> extends AsyncIterable<Item> {
  /** One page: the wire response of the list call with these paging fields (over the request's own). */
  page(paging?: PageRequest): Promise<Page>;
}

/** Items per page while iterating when the request sets no `page_size`: the server's maximum, fewest round trips. */
const ITERATION_PAGE_SIZE = 1000;

/** A {@link PageIterable} over `fetchPage`, whose responses hold their items in `items`. */
export function pages<Item, Page>(items: string, request: PageRequest, fetchPage: (paging: PageRequest) => Promise<Page>): PageIterable<Item, Page> {
  return {
    page: (paging = {}) => fetchPage({ ...request, ...paging }),
    async *[Symbol.asyncIterator]() {
      let token = request.page_token ?? '';
      const page_size = request.page_size ?? ITERATION_PAGE_SIZE;
      do {
        const page = (await fetchPage({ ...request, page_size, ...(token === '' ? {} : { page_token: token }) })) as Record<string, unknown>;
        yield* page[items] as Item[];
        token = page.next_page_token as string;
      } while (token !== '' && token !== undefined);
    },
  };
}
