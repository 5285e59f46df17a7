// Where the project lives: package.json's `repository` and the base of every link the spoke hands out (the
// problem `type` of an error answer, the action definition schema's `$id`). test/unit/repository.test.ts keeps
// them the same.
export const REPOSITORY_URL = 'https://github.com/confluence-cloud-spoke/confluence-cloud-spoke'

/** A file of the repository on its main branch, e.g. docs/errors.md#request-invalid. */
export function repositoryFileUrl (path: string): string {
  return `${REPOSITORY_URL}/blob/main/${path}`
}
