// Vocabularies for generated names, titles, bodies and labels.

export const ADJECTIVES = [
  'Quarterly', 'Annual', 'Draft', 'Final', 'Internal', 'Public', 'Shared', 'Legacy', 'Modern', 'Core', 'Mobile', 'Cloud',
  'Secure', 'Rapid', 'Global', 'Regional', 'Weekly', 'Daily', 'Archived', 'Proposed', 'Approved', 'Open', 'Closed', 'Hybrid',
  'Strategic', 'Tactical', 'Central', 'Remote', 'Onboarding', 'Customer', 'Partner', 'Vendor'
] as const

export const NOUNS = [
  'Roadmap', 'Retrospective', 'Runbook', 'Playbook', 'Architecture', 'Checklist', 'Guideline', 'Policy', 'Budget', 'Report',
  'Meeting Notes', 'Design', 'Postmortem', 'Release Plan', 'Requirements', 'Spec', 'Tutorial', 'FAQ', 'Glossary', 'Handbook',
  'Proposal', 'Review', 'Summary', 'Timeline', 'Backlog', 'Strategy', 'Overview', 'Incident', 'Survey', 'Template', 'Migration', 'Audit'
] as const

export const SPACE_THEMES = [
  'Engineering', 'Marketing', 'Sales', 'Support', 'Finance', 'Legal', 'People', 'Design', 'Product', 'Operations',
  'Security', 'Research', 'Platform', 'Data', 'Mobile', 'Infrastructure', 'Partners', 'Training', 'Quality', 'Strategy'
] as const

export const BODY_WORDS = [
  'alpha', 'beacon', 'cascade', 'delta', 'ember', 'falcon', 'glacier', 'harbor', 'island', 'jasmine', 'kernel', 'lantern',
  'meadow', 'nebula', 'orbit', 'prism', 'quartz', 'radius', 'summit', 'tundra', 'umbra', 'vertex', 'willow', 'xenon',
  'yonder', 'zephyr', 'anchor', 'bridge', 'canyon', 'dynamo', 'echo', 'fjord', 'granite', 'horizon', 'ignite', 'jigsaw',
  'keystone', 'lattice', 'monsoon', 'nimbus', 'oasis', 'pinnacle', 'quiver', 'ripple', 'sierra', 'tandem', 'unity', 'vortex',
  'wander', 'yield', 'zenith', 'arrow', 'bamboo', 'cobalt', 'dune', 'eclipse', 'forge', 'grove', 'hollow', 'indigo',
  'juniper', 'kestrel', 'lagoon', 'marble'
] as const

export const LABELS = [
  'howto', 'meeting-notes', 'decision', 'architecture', 'onboarding', 'release', 'incident', 'draft', 'okr', 'policy',
  'faq', 'retro'
] as const

export const FIRST_NAMES = [
  'Ada', 'Ben', 'Chloe', 'Dmitri', 'Elena', 'Farid', 'Grace', 'Hiro', 'Ines', 'Jonas', 'Kemi', 'Liam', 'Maya', 'Nikhil',
  'Olga', 'Pablo', 'Quinn', 'Rosa', 'Sven', 'Tara', 'Umar', 'Vera', 'Wei', 'Ximena', 'Yusuf', 'Zoe'
] as const

export const LAST_NAMES = [
  'Andersen', 'Baker', 'Costa', 'Dubois', 'Eriksen', 'Fischer', 'Garcia', 'Haddad', 'Ivanova', 'Jensen', 'Kowalski',
  'Lopez', 'Moreau', 'Nakamura', 'Okafor', 'Petrov', 'Quinto', 'Rossi', 'Schmidt', 'Tanaka', 'Usman', 'Valdez', 'Weber',
  'Xu', 'Yilmaz', 'Zhang'
] as const

export const TIME_ZONES = ['Europe/Paris', 'America/New_York', 'Asia/Tokyo', 'Europe/London', 'America/Los_Angeles', 'Australia/Sydney'] as const
