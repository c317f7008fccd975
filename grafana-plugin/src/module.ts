import { DataSourcePlugin } from '@grafana/data';

import { ConfigEditor } from './components/ConfigEditor';
import { QueryEditor } from './components/QueryEditor';
import { DataSource } from './datasource';
import { ColdtraceOptions, ColdtraceQuery } from './types';

export const plugin = new DataSourcePlugin<DataSource, ColdtraceQuery, ColdtraceOptions>(DataSource)
  .setConfigEditor(ConfigEditor)
  .setQueryEditor(QueryEditor);
