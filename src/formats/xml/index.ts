/** The XML reader. */
export { openXml, type XmlOptions } from './xml.js';
